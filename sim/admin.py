"""The admin face under `/_sim/`, the Bot Connector recorder, and the app-wide middlewares.

Admin routes (JSON; other tools script against them, so the names stay):

| route | what |
|---|---|
| `GET health` | `{"status": "ok", ...}` |
| `GET state` | tenant, app, one key per Dataverse entity set, `associations`, `entra` |
| `GET requests` | every Dataverse and Graph call, oldest first |
| `GET faults` / `POST faults` / `DELETE faults` | scripted failures (`sim.context.Fault`) |
| `POST latency` | `{"ms": N}`: base latency for every Dataverse call |
| `POST limits` | override `sim.context.Limits` fields (service protection, token lifetime) |
| `POST reset` | back to the fixture |
| `GET activities` | what the Bot Connector recorder received |
| `POST token` | SIM-ONLY: mint a user token (what Teams SSO would hand the bot) |

The recorder under `/_sim/connector/` takes what a bot sends to a service URL
(`v3/conversations`, activities, members), with or without a bearer token from this sim;
writes into a conversation past Teams' per-thread rate get 429 (`sim.connector_limits`).

`middlewares()` returns, outermost first: a catch-all that turns any unhandled exception into
a shaped 500 (the traceback goes to the log, never to the client), and the fault injector and
request recorder for the Dataverse (`/api/data/`) and Graph (`/v1.0/`) faces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import asdict, fields
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from sim import entra, errors
from sim.connector_limits import WRITES, thread_limits
from sim.context import CALLER_OBJECT_ID_KEY, SIM, Fault, Limits, Sim
from sim.graph import graph_error
from sim.state import ASSOCIATIONS, RecordedRequest

log = logging.getLogger("sim.admin")

DATAVERSE_PREFIX: Final = "/api/data/"
GRAPH_PREFIX: Final = "/v1.0/"
_CALLER_STR_KEY: Final = "sim.caller_object_id"  # the plain-string form, also accepted
_BODY_TEXT_LIMIT: Final = 16 * 1024
_BODY_READ_LIMIT: Final = 1024 * 1024

_PRIMARY_KEYS: Final = {"systemusers": "systemuserid", "roles": "roleid", "teams": "teamid"}


# ---- error bodies -------------------------------------------------------------------


def _admin_error(status: int, message: str, code: str = "BadRequest") -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def dataverse_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """reference/dataverse.md §6.1: `{"error": {"code", "message"}}`."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


_DATAVERSE_CODES: Final = {
    429: (
        errors.REQUESTS_LIMIT,
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    ),
    500: ("0x80040216", "An unexpected error occurred."),
}


def _face(path: str) -> str | None:
    if path.startswith(DATAVERSE_PREFIX):
        return "dataverse"
    if path.startswith(GRAPH_PREFIX):
        return "graph"
    return None


def _shaped(
    request: web.Request,
    status: int,
    *,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error in the shape of the face the request went to."""
    face = _face(request.path)
    if face == "graph":
        graph_codes = {429: "TooManyRequests", 500: "generalException", 503: "serviceNotAvailable"}
        code = graph_codes.get(status, "UnknownError")
        return graph_error(request, status, code, message or f"HTTP {status}.", headers=headers)
    if face == "dataverse":
        code, text = _DATAVERSE_CODES.get(status, ("", f"HTTP {status}."))
        return dataverse_error(status, code, message or text, headers=headers)
    if request.path.startswith("/_sim/"):
        return _admin_error(status, message or "Internal error.", "InternalServerError")
    # The Entra face: its error shape (`error`, `error_description`).
    return web.json_response(
        {"error": "server_error", "error_description": message or "Internal error."},
        status=status,
        headers=headers,
    )


# ---- middlewares ----------------------------------------------------------------------


@web.middleware
async def _catch_all(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No traceback ever reaches a client: unhandled errors become a shaped 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        face = _face(request.path)
        if face is None or exc.status < 400 or exc.content_type == "application/json":
            raise
        # aiohttp's own 404/405/413 on a Dataverse or Graph path: answer in that face's shape.
        if face == "dataverse" and exc.status == 404:
            segment = request.path.rstrip("/").rsplit("/", 1)[-1]
            return dataverse_error(
                404, "0x80060888", f"Resource not found for the segment '{segment}'."
            )
        return _shaped(request, exc.status, message=exc.reason + ".")
    except asyncio.CancelledError:
        raise
    except Exception:
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", incident, request.method, request.path)
        return _shaped(request, 500, message=f"An unexpected error occurred (sim {incident}).")


def _target(request: web.Request) -> str:
    query = request.query_string
    return f"{request.method} {request.path}" + (f"?{query}" if query else "")


def _take_fault(sim: Sim, target: str) -> Fault | None:
    """The first fault matching `target`; its `times` counts down and it goes at zero."""
    for fault in list(sim.faults):
        if fault.times > 0 and re.search(fault.match, target):
            fault.times -= 1
            if fault.times <= 0:
                sim.faults.remove(fault)
            return fault
    return None


def _fault_response(request: web.Request, sim: Sim, fault: Fault) -> web.Response:
    headers: dict[str, str] = {}
    retry_after = fault.retry_after
    if retry_after is None and fault.status == 429:
        retry_after = sim.limits.retry_after_seconds
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if fault.body is not None:
        return web.json_response(fault.body, status=fault.status, headers=headers)
    return _shaped(request, fault.status, headers=headers)


async def _recorded_body(request: web.Request) -> Any:
    """The request body as recorded: parsed JSON, or text (truncated) for $batch and the rest."""
    if not request.body_exists:
        return None
    length = request.content_length
    if length is not None and length > _BODY_READ_LIMIT:
        return f"<{length} bytes>"
    try:
        raw = await request.read()
    except (web.HTTPException, ConnectionError, asyncio.IncompleteReadError):
        return None
    text = raw.decode("utf-8", errors="replace")
    if "$batch" not in request.path and not request.content_type.startswith("multipart/"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    if len(text) > _BODY_TEXT_LIMIT:
        return text[:_BODY_TEXT_LIMIT] + f"…<{len(text) - _BODY_TEXT_LIMIT} more characters>"
    return text


@web.middleware
async def _faults_and_record(request: web.Request, handler: Handler) -> web.StreamResponse:
    face = _face(request.path)
    if face is None:
        return await handler(request)
    sim = request.app[SIM]
    status = 500
    try:
        fault = _take_fault(sim, _target(request))
        if fault is not None and fault.latency_ms > 0:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.status >= 400:
            response: web.StreamResponse = _fault_response(request, sim, fault)
        else:
            response = await handler(request)
        status = response.status
        if fault is not None and fault.drop and request.transport is not None:
            request.transport.abort()  # done, but the client never hears of it
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        caller = request.get(CALLER_OBJECT_ID_KEY) or request.get(_CALLER_STR_KEY)
        try:
            body = await _recorded_body(request)
        except Exception:  # recording must never turn an answer into an error
            body = None
        sim.state.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string,
                caller_object_id=str(caller) if caller else None,
                body=body,
                status=status,
            )
        )


def middlewares() -> list[Middleware]:
    """Outermost first: the catch-all, then faults/latency/recording."""
    return [_catch_all, _faults_and_record]


# ---- request bodies -------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FaultBody(_Body):
    match: str = Field(min_length=1, description="regex searched in 'METHOD /path?query'")
    status: int = Field(description="200 = latency only, else 400-599")
    retry_after: int | None = Field(default=None, ge=0, le=3600)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    times: int = Field(default=1, ge=1, le=1_000_000)
    body: dict[str, Any] | None = None
    drop: bool = Field(default=False, description="carry the request out, then cut the line")

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            msg = f"not a regular expression: {exc}"
            raise ValueError(msg) from None
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: int) -> int:
        if value != 200 and not 400 <= value <= 599:
            msg = "status must be 200 (latency only) or 400-599"
            raise ValueError(msg)
        return value


class LatencyBody(_Body):
    ms: int = Field(ge=0, le=60_000)


def _limits_body() -> type[BaseModel]:
    """`POST /_sim/limits` takes any subset of `Limits`' fields (new fields included), each a
    positive number of the field's type; `retry_after_seconds` may be 0."""
    spec: dict[str, Any] = {}
    for f in fields(Limits):
        kind = type(f.default)
        annotation = (float | int | None) if kind is float else (kind | None)
        if f.name == "retry_after_seconds":
            spec[f.name] = (annotation, Field(default=None, ge=0))
        else:
            spec[f.name] = (annotation, Field(default=None, gt=0))
    model: type[BaseModel] = create_model(
        "LimitsBody", __config__=ConfigDict(extra="forbid", strict=True), **spec
    )
    return model


LimitsBody = _limits_body()


class TokenBody(_Body):
    """SIM-ONLY: a user token for `object_id` (default audience: the bot's client id)."""

    object_id: str = Field(min_length=1)
    audience: str | None = None
    lifetime_s: int | None = Field(
        default=None, ge=-86_400, le=86_400, description="<= 0: already expired"
    )
    scopes: list[str] | None = None


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise _BadInput("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _BadInput("The body must be a JSON object.")
    return data


class _BadInput(Exception):
    pass


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _admin_route(
    fn: Any,
) -> Any:
    """Turn bad input into a 400 with the admin error body."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await fn(request)
        except _BadInput as exc:
            return _admin_error(400, str(exc))
        except ValidationError as exc:
            return _admin_error(400, _validation_message(exc))
        return response

    return wrapper


# ---- admin routes ---------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return web.json_response(
        {"status": "ok", "origin": sim.origin, "tenant_id": sim.state.tenant_id}
    )


def state_snapshot(sim: Sim) -> dict[str, Any]:
    """`GET /_sim/state`: rows with Dataverse logical names, plus directory and associations."""
    st = sim.state
    snapshot: dict[str, Any] = {
        "tenant": {"id": st.tenant_id, "name": st.tenant_name, "domain": st.domain},
        "app": {
            "client_id": st.application.app_id,
            "client_secret": st.application.client_secret,
            "tenant_id": st.tenant_id,
        },
        "environment": {"deployment": st.deployment, "version": st.version},
    }
    for entity_set, rows in st.tables.items():
        snapshot[entity_set] = [dict(row) for row in rows.values()]
    associations: dict[str, list[dict[str, str]]] = {}
    for name, pairs in st.associations.items():
        first, second = (_PRIMARY_KEYS.get(s, s) for s in ASSOCIATIONS[name])
        associations[name] = [{first: a, second: b} for a, b in sorted(pairs)]
    snapshot["associations"] = associations
    snapshot["entra"] = {
        "users": [
            {
                "id": u.id,
                "displayName": u.display_name,
                "userPrincipalName": u.user_principal_name,
                "mail": u.mail,
                "accountEnabled": u.account_enabled,
            }
            for u in st.users.values()
        ],
        "groups": [
            {"id": g.id, "displayName": g.display_name, "members": sorted(g.members)}
            for g in st.groups.values()
        ],
        "roleAssignments": [
            {
                "id": a.id,
                "principalId": a.principal_id,
                "roleDefinitionId": a.role_definition_id,
                "directoryScopeId": a.directory_scope_id,
            }
            for a in st.role_assignments
        ],
        "servicePrincipal": {
            "appId": st.application.app_id,
            "id": st.application.object_id,
            "appRoles": sorted(st.application.app_roles),
        },
    }
    return snapshot


def _dumps(data: Any) -> str:
    return json.dumps(data, default=str)


async def state(request: web.Request) -> web.Response:
    return web.json_response(state_snapshot(request.app[SIM]), dumps=_dumps)


async def requests(request: web.Request) -> web.Response:
    recorded = [asdict(r) for r in request.app[SIM].state.requests]
    return web.json_response(recorded, dumps=_dumps)


def _fault_json(fault: Fault) -> dict[str, Any]:
    return asdict(fault)


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response([_fault_json(f) for f in request.app[SIM].faults])


async def add_fault(request: web.Request) -> web.Response:
    body = FaultBody.model_validate(await _json_object(request))
    fault = Fault(**body.model_dump())
    request.app[SIM].faults.append(fault)
    return web.json_response(_fault_json(fault), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    removed = len(sim.faults)
    sim.faults.clear()
    return web.json_response({"removed": removed})


async def set_latency(request: web.Request) -> web.Response:
    body = LatencyBody.model_validate(await _json_object(request))
    request.app[SIM].base_latency_ms = body.ms
    return web.json_response({"ms": body.ms})


async def set_limits(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    body = LimitsBody.model_validate(await _json_object(request))
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(sim.limits, name, value)
    return web.json_response({f.name: getattr(sim.limits, f.name) for f in fields(Limits)})


async def reset(request: web.Request) -> web.Response:
    request.app[SIM].reset()
    return web.json_response({"reset": True})


async def activities(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIM].state.activities, dumps=_dumps)


async def mint_token(request: web.Request) -> web.Response:
    """SIM-ONLY affordance: no real Entra endpoint hands out user tokens like this.

    It stands in for Teams SSO (and for tests): a delegated token for a directory user,
    signed by the sim's key, default audience the bot's client id and `scp` access_as_user.
    """
    sim = request.app[SIM]
    body = TokenBody.model_validate(await _json_object(request))
    lifetime = body.lifetime_s if body.lifetime_s is not None else entra.token_lifetime_s(sim)
    try:
        token = entra.issue_user_token(
            sim,
            object_id=body.object_id,
            audience=body.audience,
            scopes=body.scopes,
            lifetime_s=lifetime,
        )
    except entra.UnknownUser:
        return _admin_error(
            404, f"No directory user with object id {body.object_id!r}.", "NotFound"
        )
    return web.json_response(
        {
            "token_type": "Bearer",
            "access_token": token,
            "expires_in": max(lifetime, 0),
            "sim_only": True,
        }
    )


# ---- Bot Connector recorder ------------------------------------------------------------

_CONNECTOR_AUDIENCES: Final = ("https://api.botframework.com",)


def _connector_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _connector_caller(request: web.Request) -> str | None | web.Response:
    """No token is fine (demo mode); a token must be one this sim issued."""
    if "Authorization" not in request.headers:
        return None
    sim = request.app[SIM]
    try:
        caller = entra.validate_token(
            sim,
            entra.bearer_token(request),
            audiences=[*_CONNECTOR_AUDIENCES, sim.state.application.app_id],
        )
    except entra.AuthError as exc:
        return _connector_error(401, "Unauthorized", exc.message)
    return caller.app_id


def _new_id(prefix: str = "") -> str:
    return f"{prefix}{int(time.time() * 1000)}{uuid.uuid4().hex[:8]}"


def _record(
    sim: Sim,
    op: str,
    conversation_id: str | None,
    activity_id: str | None,
    activity: Any,
    app_id: str | None,
) -> None:
    sim.state.activities.append(
        {
            "op": op,
            "conversation_id": conversation_id,
            "activity_id": activity_id,
            "activity": activity,
            "app_id": app_id,
            "received_at": time.time(),
        }
    )


def _connector_route(op: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        sim = request.app[SIM]
        app_id = _connector_caller(request)
        if isinstance(app_id, web.Response):
            return app_id
        conversation_id = request.match_info.get("conversation_id")
        activity_id = request.match_info.get("activity_id")
        if op in WRITES and conversation_id is not None:
            wait = thread_limits(sim).admit(app_id or "", conversation_id)
            if wait is not None:  # refused before anything is read or recorded
                return web.json_response(
                    {"error": {"code": "TooManyRequests", "message": "Rate limit exceeded."}},
                    status=429,
                    headers={"Retry-After": str(wait)},
                )
        body: Any = None
        if request.method in {"POST", "PUT"}:
            try:
                body = await request.json()
            except ValueError:
                return _connector_error(400, "BadArgument", "The body is not valid JSON.")
            if not isinstance(body, dict):
                return _connector_error(400, "BadArgument", "The body must be a JSON object.")
        if op == "create_conversation":
            assert body is not None
            conversation_id = _new_id("a:")
            first = body.get("activity")
            activity_id = _new_id() if isinstance(first, dict) else None
            _record(sim, op, conversation_id, activity_id, body, app_id)
            response = {
                "id": conversation_id,
                "activityId": activity_id,
                "serviceUrl": f"{sim.origin}/_sim/connector/",
            }
            return web.json_response(response, status=201)
        if op in {"send", "reply"}:
            new_id = _new_id()
            _record(sim, op, conversation_id, new_id, body, app_id)
            return web.json_response({"id": new_id}, status=201)
        if op == "update":
            _record(sim, op, conversation_id, activity_id, body, app_id)
            return web.json_response({"id": activity_id})
        # delete
        _record(sim, op, conversation_id, activity_id, None, app_id)
        return web.Response(status=200)

    return handle


def _members(sim: Sim) -> list[dict[str, Any]]:
    st = sim.state
    return [
        {
            "id": f"29:{u.id}",
            "name": u.display_name,
            "aadObjectId": u.id,
            "userPrincipalName": u.user_principal_name,
            "email": u.mail,
            "givenName": u.display_name.split(" ")[0],
            "surname": u.display_name.split(" ")[-1],
            "tenantId": st.tenant_id,
            "userRole": "user",
        }
        for u in st.users.values()
    ]


async def members(request: web.Request) -> web.Response:
    caller = _connector_caller(request)
    if isinstance(caller, web.Response):
        return caller
    return web.json_response(_members(request.app[SIM]))


async def paged_members(request: web.Request) -> web.Response:
    caller = _connector_caller(request)
    if isinstance(caller, web.Response):
        return caller
    return web.json_response({"members": _members(request.app[SIM])})


async def member(request: web.Request) -> web.Response:
    caller = _connector_caller(request)
    if isinstance(caller, web.Response):
        return caller
    wanted = request.match_info["member_id"].lower()
    for m in _members(request.app[SIM]):
        if wanted in {m["id"].lower(), m["aadObjectId"]}:
            return web.json_response(m)
    return _connector_error(404, "MemberNotFoundInConversation", "The member was not found.")


def setup(app: web.Application) -> None:
    """Add the admin routes and the Bot Connector recorder under /_sim/."""
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/state", state)
    r.add_get("/_sim/requests", requests)
    r.add_get("/_sim/faults", list_faults)
    r.add_post("/_sim/faults", _admin_route(add_fault))
    r.add_delete("/_sim/faults", clear_faults)
    r.add_post("/_sim/latency", _admin_route(set_latency))
    r.add_post("/_sim/limits", _admin_route(set_limits))
    r.add_post("/_sim/reset", reset)
    r.add_get("/_sim/activities", activities)
    r.add_post("/_sim/token", _admin_route(mint_token))

    c = "/_sim/connector/v3/conversations"
    r.add_post(c, _connector_route("create_conversation"))
    r.add_post(c + "/{conversation_id}/activities", _connector_route("send"))
    r.add_post(c + "/{conversation_id}/activities/{activity_id}", _connector_route("reply"))
    r.add_put(c + "/{conversation_id}/activities/{activity_id}", _connector_route("update"))
    r.add_delete(c + "/{conversation_id}/activities/{activity_id}", _connector_route("delete"))
    r.add_get(c + "/{conversation_id}/members", members)
    r.add_get(c + "/{conversation_id}/pagedmembers", paged_members)
    r.add_get(c + "/{conversation_id}/members/{member_id}", member)
