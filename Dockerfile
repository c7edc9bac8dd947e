# MailOps bot: `mailops serve` on port 3978 (POST /api/messages, GET /healthz).
#
#   docker build -t mailops .
#   docker run -p 3978:3978 \
#     -e MicrosoftAppId=... -e MicrosoftAppPassword=... -e MicrosoftAppType=SingleTenant \
#     -e MicrosoftAppTenantId=... -e DATAVERSE_URL=https://<org>.crm.dynamics.com \
#     -e MAILOPS_TENANT_ID=... -e MAILOPS_CLIENT_ID=... -e MAILOPS_CLIENT_SECRET=... \
#     mailops
#
# The container listens on 0.0.0.0 so that the port can be published. The bot accepts
# unauthenticated activities only when MicrosoftAppId is empty, and then refuses to listen
# beyond loopback: without MicrosoftAppId (and its password) this image stops at start-up with
# "MAILOPS_HOST=0.0.0.0: without MicrosoftAppId ...". That is on purpose. For a local try-out
# without a bot registration, run `mailops demo` on the host instead.
#
# Secrets come from the environment (or an orchestrator's secret store), never from the image.
# Replies to Teams go out through requests, which trusts certifi's public roots; behind a
# TLS-inspecting proxy set REQUESTS_CA_BUNDLE to a bundle that also holds the proxy's CA, and
# MAILOPS_CA_BUNDLE for the Dataverse, Graph and Entra clients.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtual environment with the runtime dependencies only (no dev extras) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/mailops
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY dialogs ./dialogs
COPY cards ./cards
COPY dataverse ./dataverse
COPY permissions ./permissions
COPY monitor ./monitor
COPY store ./store
RUN /opt/mailops/bin/pip install -c constraints.txt .

# ---- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/mailops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAILOPS_HOST=0.0.0.0 \
    MAILOPS_PORT=3978
RUN groupadd --system --gid 10001 mailops \
    && useradd --system --uid 10001 --gid mailops --home-dir /srv/mailops \
        --shell /usr/sbin/nologin mailops \
    && mkdir -p /srv/mailops/var \
    && chown -R mailops:mailops /srv/mailops
COPY --from=build /opt/mailops /opt/mailops
# The working directory holds var/ (the default SQLite file, sqlite+aiosqlite:///var/mailops.db);
# mount a volume there, or set MAILOPS_DB_URL to PostgreSQL for more than one replica.
WORKDIR /srv/mailops
USER 10001:10001
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MAILOPS_PORT', '3978') + '/healthz', timeout=4)"]
CMD ["mailops", "serve"]
