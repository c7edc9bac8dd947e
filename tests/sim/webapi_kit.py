"""Helpers for the Web API face tests: tokens from the sim's Entra face and a Dataverse client.

Tokens come the way a client gets them: client credentials at the token endpoint with the
scope `<environment URL>/.default` (reference §6.9). Delegated tokens for a person are minted
through the Entra face's own issuer (what the on-behalf-of grant would return).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from sim import entra
from sim.tls import client_context
from tests.simharness import RunningSim

API = "/api/data/v9.2/"
MAILBOX_GINA = "3b000000-0000-4000-8000-000000000001"
MAILBOX_ALICE = "3b000000-0000-4000-8000-000000000009"
PROFILE_EXO = "e5000000-0000-4000-8000-000000000001"
PROFILE_ONPREM = "e5000000-0000-4000-8000-000000000002"
USER_GINA = "5e000000-0000-4000-8000-000000000001"
USER_SAM = "5e000000-0000-4000-8000-000000000004"
USER_ALICE = "5e000000-0000-4000-8000-000000000009"
APP_USER = "5e000000-0000-4000-8000-0000000000a1"
ROLE_SYSADMIN = "70000000-0000-4000-8000-000000000001"
ROLE_BASIC = "70000000-0000-4000-8000-000000000004"
TEAM_OPS = "7e000000-0000-4000-8000-000000000001"


def app_token(sim: RunningSim) -> str:
    """Client credentials for the fixture's app, audience = the environment URL."""
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        resp = client.post(
            f"{sim.authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "scope": f"{sim.origin}/.default",
            },
        )
        resp.raise_for_status()
        token: str = resp.json()["access_token"]
        return token


def user_token(sim: RunningSim, name: str) -> str:
    """A delegated Dataverse token for a fixture person (user_impersonation)."""
    oid = sim.person(name).object_id
    return sim.thread.call(
        lambda: entra.issue_user_token(
            sim.sim, object_id=oid, audience=sim.origin, scopes=["user_impersonation"]
        )
    )


def client(sim: RunningSim, token: str | None) -> httpx.Client:
    headers = {
        "Accept": "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
        "If-None-Match": "null",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(
        base_url=f"{sim.origin}{API}",
        headers=headers,
        verify=client_context(sim.ca_path),
        timeout=60,
    )


def dv(sim: RunningSim, token: str | None = None) -> httpx.Client:
    """A Web API client acting as the fixture's application user."""
    return client(sim, app_token(sim) if token is None else token)


def error_of(resp: httpx.Response) -> dict[str, str]:
    """The Dataverse error body (reference §6.1); fails the test when it is not one."""
    body = resp.json()
    assert set(body) == {"error"}, body
    err: dict[str, str] = body["error"]
    assert set(err) >= {"code", "message"}, err
    return err


def limits(sim: RunningSim, **values: Any) -> None:
    """Shrink service protection limits for one test (the sim resets them afterwards)."""

    def apply() -> None:
        for key, value in values.items():
            setattr(sim.sim.limits, key, value)

    sim.thread.call(apply)


# ---- $batch ------------------------------------------------------------------------------


@dataclass
class Op:
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None
    content_id: str | None = None


def _op_text(op: Op) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if op.content_id is not None:
        lines.append(f"Content-ID: {op.content_id}")
    lines += ["", f"{op.method} {op.url} HTTP/1.1"]
    headers = dict(op.headers or {})
    if op.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("")
    if op.body is not None:
        lines.append(json.dumps(op.body))
    return "\r\n".join(lines) + "\r\n"


def batch_body(items: Iterable[Op | list[Op]]) -> tuple[str, str]:
    """(Content-Type, body) of a `$batch` with operations and change sets (lists)."""
    boundary = f"batch_{uuid.uuid4()}"
    chunks: list[str] = []
    for item in items:
        if isinstance(item, list):
            cs = f"changeset_{uuid.uuid4()}"
            inner = "".join(f"--{cs}\r\n{_op_text(op)}" for op in item) + f"--{cs}--\r\n"
            chunks.append(f'Content-Type: multipart/mixed; boundary="{cs}"\r\n\r\n{inner}')
        else:
            chunks.append(_op_text(item))
    body = "".join(f"--{boundary}\r\n{c}" for c in chunks) + f"--{boundary}--\r\n"
    return f'multipart/mixed; boundary="{boundary}"', body


@dataclass
class PartResponse:
    status: int
    headers: dict[str, str]
    body: Any
    content_id: str | None


def parse_batch_response(resp: httpx.Response) -> list[PartResponse]:
    """Every operation's response, change-set members flattened, in order."""
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/mixed; boundary=batchresponse_"), ctype
    return _parts(resp.text, ctype.split("boundary=", 1)[1])


def _parts(text: str, boundary: str) -> list[PartResponse]:
    out: list[PartResponse] = []
    sections = text.split(f"--{boundary}")
    assert sections[-1].strip() == "--", sections[-1]
    for section in sections[1:-1]:
        head, _, rest = section.lstrip("\r\n").partition("\r\n\r\n")
        mime = dict(line.split(": ", 1) for line in head.split("\r\n") if line)
        if mime["Content-Type"].startswith("multipart/mixed"):
            out += _parts(rest, mime["Content-Type"].split("boundary=", 1)[1])
            continue
        status_line, _, after = rest.partition("\r\n")
        header_text, _, body = after.partition("\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in header_text.split("\r\n") if line)
        body = body.strip()
        out.append(
            PartResponse(
                status=int(status_line.split()[1]),
                headers=headers,
                body=json.loads(body) if body else None,
                content_id=mime.get("Content-ID"),
            )
        )
    return out
