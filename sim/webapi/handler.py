"""The aiohttp handler in front of the Web API face: size limit, token, caller, protection.

Order of checks for every call under /api/data/v9.2/:

1. a body over `Limits.max_body_bytes` → 413;
2. the bearer token, validated by the Entra face for the audience `sim.origin` → 401 with
   `WWW-Authenticate` and a Dataverse error body when missing, expired or forged (§6.1);
3. a `$batch` body is parsed (400 when malformed or over `max_batch_parts`);
4. `sim.rules.resolve_caller` maps the token (and `CallerObjectId` or `MSCRMCallerID`) to the
   effective caller; its object id goes to `request[CALLER_OBJECT_ID_KEY]` for the admin
   recorder;
5. service protection admits the call for the token's user, a `$batch` counting as one
   request and holding one concurrency slot (§6.3, api-limits.md) → 429 with `Retry-After`;
6. the request is served: the sim's base latency (`Sim.base_latency_ms`) is time spent per
   operation, so a `$batch` of N operations, which Dataverse runs one after the other (the
   Python SDK's `BatchRequest` docs: "executed sequentially in the order added"), takes N
   latencies, each operation charging its time to the execution-time window as it ends;
   any failure becomes `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web
from multidict import CIMultiDict

from sim import entra, rules
from sim.context import CALLER_OBJECT_ID_KEY, SIM, Sim
from sim.errors import DataverseFault
from sim.webapi import batch, errors
from sim.webapi.model import (
    DvRequest,
    DvResponse,
    WebApi,
    fault_response,
    json_response,
    service,
)
from sim.webapi.routes import dispatch

log = logging.getLogger(__name__)

# The 401 names Dataverse documents (compose-http-requests-handle-errors, §6.1).
_AUTH_NAMES: Final = {
    "missing_token": "RequestIsNotAuthenticated",
    "expired_token": "ExpiredAuthTicket",
    "token_not_yet_valid": "InvalidAuthTicket",
    "invalid_signature": "TamperedAuthTicket",
    "invalid_audience": "InvalidAuthTicket",
    "invalid_issuer": "InvalidAuthTicket",
    "invalid_tenant": "InvalidAuthTicket",
    "invalid_token": "BadAuthTicket",
}


def _unauthorized(sim: Sim, exc: entra.AuthError) -> DataverseFault:
    name = _AUTH_NAMES.get(exc.code, "InvalidAuthTicket")
    challenge = (
        f'Bearer error="invalid_token", error_description="{exc.message}", '
        f"authorization_uri={sim.origin}/{sim.state.tenant_id}/oauth2/authorize, "
        f"resource_id={sim.origin}/"
    )
    return DataverseFault(
        401, "", f"{name}: {exc.message}", headers={"WWW-Authenticate": challenge}
    )


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body (read through `request.read()`, so the admin recorder can read it again)."""
    if not request.body_exists:
        return b""
    try:
        data = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise errors.too_large(limit) from None
    if len(data) > limit:
        raise errors.too_large(limit)
    return data


def _web(resp: DvResponse) -> web.Response:
    return web.Response(status=resp.status, headers=resp.headers, body=resp.body or None)


async def handle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    try:
        return _web(await _handle(request, sim, service(sim)))
    except DataverseFault as fault:
        return _web(fault_response(fault))
    except Exception:
        log.exception("Web API request %s %s failed", request.method, request.path_qs)
        return _web(
            json_response(
                500, {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}
            )
        )


async def _handle(request: web.Request, sim: Sim, api: WebApi) -> DvResponse:
    limit = sim.limits.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise errors.too_large(limit)
    try:
        token = entra.authenticate(request, audience=sim.origin)
    except entra.AuthError as exc:
        raise _unauthorized(sim, exc) from None
    request[CALLER_OBJECT_ID_KEY] = token.object_id
    body = await _read_body(request, limit)
    tail = request.match_info.get("tail", "")
    headers: CIMultiDict[str] = CIMultiDict(request.headers)
    parsed: batch.ParsedBatch | None = None
    if tail == "$batch":
        if request.method != "POST":
            raise errors.method_not_allowed(request.method)
        parsed = batch.parse(headers.get("Content-Type"), body, sim.limits.max_batch_parts)
    caller_header = rules.Impersonation.from_headers(headers)  # CallerObjectId, MSCRMCallerID
    caller = rules.resolve_caller(sim, token.object_id, caller_header)
    request[CALLER_OBJECT_ID_KEY] = caller.object_id or token.object_id
    ticket = api.protection.admit(token.object_id)
    try:
        # The base latency is time the call spends being served, so it holds its concurrency
        # slot and counts as execution time like a slow real request would (reference §6.3).
        latency_s = sim.base_latency_ms / 1000
        if parsed is not None:
            ctx = batch.BatchContext(
                sim, api, token.object_id, caller_header, dispatch, ticket, latency_s
            )
            resp = await batch.execute(ctx, parsed, headers.getall("Prefer", []))
        else:
            if latency_s > 0:
                await api.protection.serve(latency_s)
            resp = dispatch(
                DvRequest(
                    sim=sim,
                    api=api,
                    method=request.method,
                    path=tail,
                    params=list(request.query.items()),
                    headers=headers,
                    body=body,
                    caller=caller,
                )
            )
    finally:
        api.protection.release(ticket)
    resp.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(ticket.remaining)
    return resp
