# Everything a fresh machine needs is installed by these targets themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# npm tools (the Agents Playground, the Teams manifest schemas): `npm ci` again whenever the
# lock file changes or the Playground's binary is missing.
NPM_STAMP := node_modules/.mailops-installed
PLAYGROUND := node_modules/.bin/agentsplayground
# The end-to-end tests drive Debian's chromium (Playwright's own browser download cannot work
# here). CI runs as root; elsewhere apt-get goes through sudo.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test check bench lint format clean tools

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# The wheel holds the product only; the sim and devtools/ (`mailops sim|demo|bench`)
	@# are imported from this checkout, which the dev install puts on the path.
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "mailops-checkout.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "need npm (Node.js 20)"; exit 1; }
	@echo "npm ci (Agents Playground, manifest schemas)"
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@test -x $(PLAYGROUND) || { echo "npm ci did not install $(PLAYGROUND)"; exit 1; }
	@touch $@

# A missing binary alone (node_modules pruned by hand) also triggers a reinstall.
$(PLAYGROUND):
	@rm -f $(NPM_STAMP)
	@$(MAKE) --no-print-directory $(NPM_STAMP)

$(CHROMIUM):
	@echo "apt-get install chromium (for tests/e2e)"
	@export DEBIAN_FRONTEND=noninteractive; \
	$(SUDO) apt-get install -y -qq chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

tools: $(NPM_STAMP) $(PLAYGROUND) $(CHROMIUM)

demo: $(STAMP) $(NPM_STAMP) $(PLAYGROUND)
	$(BIN)/mailops demo

test: $(STAMP) tools
	$(BIN)/pytest

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/mailops bench bulk --mailboxes 5000 --latency-ms 20

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
