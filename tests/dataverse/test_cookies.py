"""Dataverse's affinity cookie goes back with the requests that follow it.

Microsoft's "Service protection API limits" page (section "Server affinity"): Dataverse
answers with an affinity cookie that routes a client's later requests to the same web server,
and the SDK keeps it unless told otherwise. The sim sets no cookies, so this server answers
as Dataverse does here: it sets the cookie on the first answer and reports the `Cookie`
header of every request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from dataverse import DataverseClient
from sim.tls import ensure_tls

AFFINITY = "ARRAffinity=3f1c0d9e; Path=/; Secure; HttpOnly"
USER = "5e000000-0000-4000-8000-0000000000aa"


@pytest.fixture
async def affinity_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path, list[str | None]]]:
    tls = ensure_tls(tmp_path)
    seen: list[str | None] = []

    async def whoami(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        body = {
            "UserId": USER,
            "BusinessUnitId": str(uuid.UUID(int=1)),
            "OrganizationId": str(uuid.UUID(int=2)),
        }
        response = web.json_response(body)
        if len(seen) == 1:
            response.headers["Set-Cookie"] = AFFINITY
        return response

    app = web.Application()
    app.router.add_get("/api/data/v9.2/WhoAmI", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.server_context())
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://localhost:{port}", tls.ca_cert, seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("trust_env", [False, True], ids=["aiohttp", "environment-proxies"])
async def test_the_affinity_cookie_is_sent_back(
    affinity_server: tuple[str, Path, list[str | None]],
    trust_env: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both transports: aiohttp's (the default) and httpx's client, which a host that takes
    its proxies from the environment gets (no proxy is set here)."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    url, ca, seen = affinity_server
    async with DataverseClient(url, ca_path=ca, trust_env=trust_env) as client:
        for _ in range(3):
            assert str((await client.whoami()).user_id) == USER
    assert seen == [None, "ARRAffinity=3f1c0d9e", "ARRAffinity=3f1c0d9e"]
