"""`python -m sim` / `mailops sim`: foreground run, schema, and the loopback-only rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sim.cli import is_loopback, main
from sim.tls import client_context
from tests.simharness import ONPREM


def test_print_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 2, Fixtures: `mailops sim --print-schema` publishes the fixture schema."""
    assert main(["--print-schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Fixture"


def test_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    """The sim's secrets are public: it binds loopback unless --allow-remote."""
    assert main(["--host", "0.0.0.0"]) == 2  # noqa: S104 - the refusal is under test
    assert "refusing" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("192.168.1.10")


def test_bad_fixture_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken fixture gets a clear message and exit code 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenant_id: nope\n", encoding="utf-8")
    assert main(["--fixture", str(bad), "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "invalid fixture" in err
    assert "Traceback" not in err


def test_runs_in_the_foreground(tmp_path: Path) -> None:
    """`python -m sim --port 0` starts, prints its origin and CA, and stops on SIGTERM."""
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sim", "--port", "0", "--fixture", str(ONPREM),
         "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            lines = {}
            for line in proc.stdout:
                key, _, value = line.strip().partition(": ")
                lines[key.strip()] = value.strip()
                if key.startswith("admin"):
                    break
            origin = lines["origin"]
            ca = Path(lines["CA certificate"].split()[0])
            assert ca == tmp_path.resolve() / "ca.pem"
            with httpx.Client(verify=client_context(ca)) as client:
                assert client.get(f"{origin}/_sim/health").json()["status"] == "ok"
        finally:
            proc.terminate()
            assert proc.wait(timeout=10) == 0
