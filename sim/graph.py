"""The Microsoft Graph subset under `/v1.0/` (reference/dataverse.md §7).

| route | permission (application `roles` or delegated `scp`, any of) |
|---|---|
| `GET roleManagement/directory/roleAssignments[/{id}]` | RoleManagement.Read.Directory, … |
| `GET users`, `GET users/{id or userPrincipalName}`, `GET users/$count` | User.Read.All, … |
| `GET users/{id}/transitiveMemberOf[/microsoft.graph.group …][/$count]` | User.Read.All, … |
| `GET groups/{id}/transitiveMembers[/microsoft.graph.user …][/$count]` | GroupMember.Read.All, … |

Facts followed (Graph v1.0 docs: rbacapplication-list-roleassignments, unifiedRoleAssignment,
user-list, user-get, user-list-transitivememberof, group-list-transitivemembers):

- role assignments support `$filter` with `eq` and `in` on principalId, roleDefinitionId,
  directoryScopeId and appScopeId (the sim also takes `and` of those), `$expand=principal`
  (and roleDefinition) and `$select`; only active, direct assignments are listed;
- users: `$filter` with eq/in/startswith/ge/le on id, userPrincipalName, mail and
  displayName and eq/in on accountEnabled; `ne`, `not`, `endswith` and `$count` are advanced
  queries needing `ConsistencyLevel: eventual` (+ `$count=true`); page size default 100,
  `$top` 1…999, `@odata.nextLink` with `$skiptoken`;
- transitiveMemberOf returns groups and directory roles; `$filter`, `$orderby`, `$search`
  and an OData cast need `ConsistencyLevel: eventual` and `$count`;
- a group's transitiveMembers [G1] is a flat list of directoryObjects, each with its
  `@odata.type` (here users, and the app's service principal if a test adds it: the sim does
  not nest groups, and a role-assignable group cannot hold groups at all [G2]);
  permission GroupMember.Read.All, or the higher Directory.Read.All, Group.Read.All,
  Group.ReadWrite.All, GroupMember.ReadWrite.All (User.Read.All is not among them) [G1];
  `$filter` and an OData cast (`/microsoft.graph.user`) need `ConsistencyLevel: eventual` and
  `$count=true` [G1][G3], and a cast to a type that is no member type is 400
  Request_UnsupportedQuery [G1]; `$select` works with the cast, whose answer's context is
  `#users(…)` [G1]; a group of more than 100 members pages with `@odata.nextLink` [G4]; an
  unknown group id is 404 Request_ResourceNotFound, as for users.

  [G1] https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0
  [G2] https://learn.microsoft.com/entra/identity/role-based-access-control/groups-concept
  [G3] https://learn.microsoft.com/graph/aad-advanced-queries ("Use of OData cast with
       transitive members list")
  [G4] https://learn.microsoft.com/graph/api/group-list-members?view=graph-rest-1.0 and
       https://learn.microsoft.com/graph/paging

An OData cast may name the type in full (`microsoft.graph.group`) or through the namespace's
alias (`graph.group`), as Microsoft's own SDKs send it (reference §7); `_cast_segment` is that
one rule.

Errors use Graph's body `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`; a malformed query is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from sim import entra
from sim.context import CALLER_OBJECT_ID_KEY, SIM, Sim
from sim.fixture import ENTRA_ROLE_TEMPLATE_IDS, EntraRole
from sim.state import DirectoryGroup, DirectoryUser, RoleAssignment

ROLE_READ: Final = frozenset(
    {
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "Directory.Read.All",
        "RoleManagement.ReadWrite.Directory",
        "Directory.ReadWrite.All",
    }
)
USER_READ: Final = frozenset(
    {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
MEMBERSHIP_READ: Final = USER_READ | frozenset({"GroupMember.Read.All", "Group.Read.All"})
# group-list-transitivemembers: least privileged GroupMember.Read.All, and the higher ones.
GROUP_MEMBER_READ: Final = frozenset(
    {
        "GroupMember.Read.All",
        "Directory.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
    }
)

DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 999
_KNOWN_OPTIONS: Final = frozenset(
    {"$filter", "$select", "$top", "$skiptoken", "$count", "$expand"}
)
_ORDER_OPTIONS: Final = frozenset({"$orderby", "$search"})

ROLE_NAMES: Final = {
    EntraRole.GLOBAL_ADMIN: "Global Administrator",
    EntraRole.EXCHANGE_ADMIN: "Exchange Administrator",
    EntraRole.DYNAMICS_ADMIN: "Dynamics 365 Administrator",
    EntraRole.POWER_PLATFORM_ADMIN: "Power Platform Administrator",
    EntraRole.EXCHANGE_RECIPIENT_ADMIN: "Exchange Recipient Administrator",
}
_ROLE_NAME_BY_TEMPLATE: Final = {ENTRA_ROLE_TEMPLATE_IDS[r]: n for r, n in ROLE_NAMES.items()}


# ---- errors ---------------------------------------------------------------------------


def graph_error(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """Graph's error body, with the request ids Graph echoes."""
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    all_headers = {"request-id": request_id, "client-request-id": client_request_id}
    all_headers.update(headers or {})
    return web.json_response(body, status=status, headers=all_headers)


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _bad_request(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def _unsupported(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


_AUTH_MESSAGES: Final = {
    "missing_token": "Access token is empty.",
    "expired_token": "Lifetime validation failed, the token is expired.",
    "token_not_yet_valid": "Lifetime validation failed, the token is not yet valid.",
    "invalid_audience": "Access token validation failure. Invalid audience.",
    "invalid_signature": "Access token validation failure. Invalid signature.",
    "invalid_issuer": "Access token validation failure. Invalid issuer.",
    "invalid_tenant": "Access token validation failure. Invalid tenant.",
}


def _authorize(request: web.Request, permissions: frozenset[str] | None) -> entra.Caller:
    try:
        caller = entra.authenticate(request, audience=entra.GRAPH_RESOURCE)
    except entra.AuthError as exc:
        message = _AUTH_MESSAGES.get(exc.code, "Access token validation failure.")
        raise GraphError(401, "InvalidAuthenticationToken", message) from None
    request[CALLER_OBJECT_ID_KEY] = caller.object_id
    granted = caller.roles if caller.app_only else caller.scopes
    if permissions is not None and not granted & permissions:
        raise GraphError(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    return caller


def _graph_route(
    permissions: frozenset[str] | None,
) -> Callable[[Callable[[web.Request, Sim], web.Response]], Handler]:
    """Authenticate, check the permission, and turn GraphError into Graph's body."""

    def wrap(fn: Callable[[web.Request, Sim], web.Response]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                _authorize(request, permissions)
                return fn(request, request.app[SIM])
            except GraphError as exc:
                return graph_error(request, exc.status, exc.code, exc.message)

        return handler

    return wrap


# ---- $filter --------------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    """A filterable property: its JSON type and the operators Graph allows on it."""

    kind: str  # "string" | "bool"
    basic: frozenset[str]  # without advanced query
    advanced: frozenset[str] = frozenset()  # with ConsistencyLevel: eventual + $count


_STRING_OPS: Final = frozenset({"eq", "in", "startswith", "ge", "le"})
_ADVANCED_STRING_OPS: Final = frozenset({"ne", "not", "endswith"})
_BOOL_OPS: Final = frozenset({"eq", "in"})

USER_PROPS: Final = {
    "id": Prop("string", frozenset({"eq", "in"}), frozenset({"ne", "not"})),
    "userPrincipalName": Prop("string", _STRING_OPS, _ADVANCED_STRING_OPS),
    "mail": Prop("string", _STRING_OPS, _ADVANCED_STRING_OPS),
    "displayName": Prop("string", _STRING_OPS, frozenset({"ne", "not"})),
    "accountEnabled": Prop("bool", _BOOL_OPS, frozenset({"ne", "not"})),
}
ROLE_ASSIGNMENT_PROPS: Final = {
    name: Prop("string", frozenset({"eq", "in"}))
    for name in ("principalId", "roleDefinitionId", "directoryScopeId", "appScopeId")
}
MEMBERSHIP_PROPS: Final = {
    "id": Prop("string", frozenset(), frozenset({"eq", "in", "ne", "not"})),
    "displayName": Prop("string", frozenset(), _STRING_OPS | _ADVANCED_STRING_OPS),
    "securityEnabled": Prop("bool", frozenset(), _BOOL_OPS | {"ne", "not"}),
    "mailEnabled": Prop("bool", frozenset(), _BOOL_OPS | {"ne", "not"}),
    "roleTemplateId": Prop("string", frozenset(), frozenset({"eq", "in"})),
}

Predicate = Callable[[dict[str, Any]], bool]
_COMPARATORS: Final[dict[type[ast._Comparator], str]] = {
    ast.Eq: "eq",
    ast.NotEq: "ne",
    ast.GtE: "ge",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.Lt: "lt",
    ast.In: "in",
}


@dataclass(frozen=True)
class FilterSpec:
    entity: str  # for messages: microsoft.graph.user …
    props: dict[str, Prop]
    connectives: frozenset[str]  # "and", "or"


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class _FilterCompiler:
    def __init__(self, spec: FilterSpec, *, advanced: bool) -> None:
        self.spec = spec
        self.advanced = advanced
        self._lookup = {name.lower(): name for name in spec.props}

    def _prop(self, node: ast._Node, op: str) -> tuple[str, Prop]:
        if not isinstance(node, ast.Identifier) or node.namespace:
            raise _unsupported("Unsupported query: the left side must be a property name.")
        name = self._lookup.get(node.name.lower())
        if name is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{node.name}' on type '{self.spec.entity}'.",
            )
        prop = self.spec.props[name]
        if op in prop.basic:
            return name, prop
        if op in prop.advanced:
            if not self.advanced:
                raise _unsupported(
                    f"Operator '{op}' on property '{name}' is an advanced query: it needs the "
                    "header 'ConsistencyLevel: eventual' and '$count=true'."
                )
            return name, prop
        raise _unsupported(
            f"Unsupported or invalid query filter clause specified for property '{name}' of "
            f"resource '{self.spec.entity.rsplit('.', 1)[-1]}'."
        )

    @staticmethod
    def _literal(node: ast._Node, prop: Prop, name: str) -> Any:
        if prop.kind == "bool" and isinstance(node, ast.Boolean):
            return node.val.lower() == "true"
        if prop.kind == "string" and isinstance(node, ast.String):
            return node.val
        if isinstance(node, ast.Null):
            return None
        expected = "true or false" if prop.kind == "bool" else "a quoted string"
        raise _bad_request(f"Invalid filter clause: the value for '{name}' must be {expected}.")

    def compile(self, node: ast._Node) -> Predicate:
        if isinstance(node, ast.BoolOp):
            word = "and" if isinstance(node.op, ast.And) else "or"
            if word not in self.spec.connectives:
                raise _unsupported(f"Unsupported query: '{word}' is not supported here.")
            left, right = self.compile(node.left), self.compile(node.right)
            if word == "and":
                return lambda row: left(row) and right(row)
            return lambda row: left(row) or right(row)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._require_not(node.operand)
            inner = self.compile(node.operand)
            return lambda row: not inner(row)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise _bad_request("Invalid filter clause: expected a comparison.")

    def _require_not(self, operand: ast._Node) -> None:
        for ident in _identifiers(operand):
            self._prop(ident, "not")

    def _compare(self, node: ast.Compare) -> Predicate:
        op = _COMPARATORS.get(type(node.comparator), "?")
        name, prop = self._prop(node.left, op)
        if op == "in":
            if not isinstance(node.right, ast.List) or not node.right.val:
                raise _bad_request("Invalid filter clause: 'in' takes a list of values.")
            values = {_norm(self._literal(v, prop, name)) for v in node.right.val}
            return lambda row: _norm(row.get(name)) in values
        value = _norm(self._literal(node.right, prop, name))
        if op == "eq":
            return lambda row: _norm(row.get(name)) == value
        if op == "ne":
            return lambda row: _norm(row.get(name)) != value
        if value is None or prop.kind != "string":
            raise _bad_request(f"Invalid filter clause: '{op}' needs a string on '{name}'.")
        text: str = value
        if op == "ge":
            return lambda row: _norm(row.get(name) or "") >= text
        return lambda row: _norm(row.get(name) or "") <= text  # le

    def _call(self, node: ast.Call) -> Predicate:
        func = node.func.name.lower()
        if func not in {"startswith", "endswith"}:
            raise _unsupported(f"Unsupported query: function '{node.func.name}'.")
        if len(node.args) != 2:
            raise _bad_request(f"Invalid filter clause: {func} takes two arguments.")
        name, prop = self._prop(node.args[0], func)
        value = self._literal(node.args[1], prop, name)
        if not isinstance(value, str):
            raise _bad_request(f"Invalid filter clause: {func} needs a string.")
        needle = value.casefold()
        if func == "startswith":
            return lambda row: str(row.get(name) or "").casefold().startswith(needle)
        return lambda row: str(row.get(name) or "").casefold().endswith(needle)


def _identifiers(node: ast._Node) -> list[ast.Identifier]:
    if isinstance(node, ast.Identifier):
        return [node]
    found: list[ast.Identifier] = []
    for child in vars(node).values():
        if isinstance(child, ast._Node):
            found += _identifiers(child)
        elif isinstance(child, list):
            for item in child:
                if isinstance(item, ast._Node):
                    found += _identifiers(item)
    return found


def compile_filter(text: str, spec: FilterSpec, *, advanced: bool) -> Predicate:
    """Parse `$filter` strictly; raises GraphError (400) for anything malformed or unsupported."""
    if not text.strip():
        raise _bad_request("Invalid filter clause: the filter is empty.")
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(text))
    except Exception as exc:  # the parser raises ODataException and, on odd input, others
        raise _bad_request(f"Invalid filter clause: {exc}") from None
    if tree is None:
        raise _bad_request("Invalid filter clause.")
    return _FilterCompiler(spec, advanced=advanced).compile(tree)


# ---- query options ----------------------------------------------------------------------


def _advanced(request: web.Request) -> bool:
    consistency = request.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
    return consistency and request.query.get("$count", "").lower() == "true"


def _check_options(request: web.Request, allowed: frozenset[str]) -> None:
    for key in request.query:
        if key.startswith("$") and key not in allowed:
            if key in _KNOWN_OPTIONS | _ORDER_OPTIONS:
                raise _unsupported(f"Query option '{key}' is not supported on this resource.")
            raise _bad_request(f"Query option '{key}' is not a valid OData query option.")
    for key in allowed & {"$filter", "$select", "$top", "$expand", "$count", "$skiptoken"}:
        if len(request.query.getall(key, [])) > 1:
            raise _bad_request(f"Query option '{key}' was specified more than once.")


def _select(request: web.Request, known: frozenset[str], entity: str) -> list[str] | None:
    raw = request.query.get("$select")
    if raw is None:
        return None
    lookup = {k.lower(): k for k in known}
    chosen: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            raise _bad_request("Invalid $select: empty property name.")
        canonical = lookup.get(name.lower())
        if canonical is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{name}' on type '{entity}'.",
            )
        if canonical not in chosen:
            chosen.append(canonical)
    return chosen


def _project(
    obj: dict[str, Any], selected: list[str] | None, default: list[str]
) -> dict[str, Any]:
    keys = selected if selected is not None else default
    out = {k: v for k, v in obj.items() if k.startswith("@odata.")}
    out.update({k: obj.get(k) for k in keys})
    return out


def _count_requested(request: web.Request) -> bool:
    raw = request.query.get("$count")
    if raw is None:
        return False
    if raw.lower() not in {"true", "false"}:
        raise _bad_request(f"Invalid $count value '{raw}': expected true or false.")
    if raw.lower() == "true" and not _advanced(request):
        raise _bad_request(
            "$count is an advanced query: it needs the header 'ConsistencyLevel: eventual'."
        )
    return raw.lower() == "true"


def _page_size(request: web.Request) -> int:
    raw = request.query.get("$top")
    if raw is None:
        return DEFAULT_PAGE
    try:
        top = int(raw)
    except ValueError:
        raise _bad_request(f"Invalid value '{raw}' for $top.") from None
    if not 1 <= top <= MAX_PAGE:
        raise _bad_request(
            f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_PAGE} inclusive."
        )
    return top


def _skip(request: web.Request) -> int:
    raw = request.query.get("$skiptoken")
    if raw is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        offset = decoded["o"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        raise _bad_request("Invalid $skiptoken.") from None
    if not isinstance(offset, int) or offset < 0:
        raise _bad_request("Invalid $skiptoken.")
    return offset


def _page(
    request: web.Request, sim: Sim, items: list[dict[str, Any]], context: str
) -> web.Response:
    """One page of `items`, with @odata.nextLink when more remain."""
    size = _page_size(request)
    start = _skip(request)
    count = _count_requested(request)
    body: dict[str, Any] = {"@odata.context": context}
    if count:
        body["@odata.count"] = len(items)
    if start + size < len(items):
        params = [(k, v) for k, v in request.query.items() if k != "$skiptoken"]
        token = base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode()).decode()
        params.append(("$skiptoken", token.rstrip("=")))
        body["@odata.nextLink"] = f"{sim.origin}{request.path}?{urlencode(params)}"
    body["value"] = items[start : start + size]
    return web.json_response(body)


def _context(sim: Sim, fragment: str) -> str:
    return f"{sim.origin}/v1.0/$metadata#{fragment}"


# ---- representations ------------------------------------------------------------------

USER_DEFAULT: Final = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
]
USER_ALL: Final = frozenset(
    [*USER_DEFAULT, "accountEnabled", "mailNickname", "userType", "onPremisesSyncEnabled"]
)


def user_json(user: DirectoryUser) -> dict[str, Any]:
    names = user.display_name.split(" ")
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": names[0],
        "surname": names[-1] if len(names) > 1 else None,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "userPrincipalName": user.user_principal_name,
        "accountEnabled": user.account_enabled,
        "mailNickname": user.user_principal_name.split("@")[0],
        "userType": "Member",
        "onPremisesSyncEnabled": None,
    }


def _role_assignable(sim: Sim, group: DirectoryGroup) -> bool:
    return any(a.principal_id == group.id for a in sim.state.role_assignments)


def group_json(sim: Sim, group: DirectoryGroup) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.group",
        "id": group.id,
        "displayName": group.display_name,
        "description": None,
        "groupTypes": [],
        "mailEnabled": False,
        "mail": None,
        "mailNickname": group.display_name.replace(" ", ""),
        "securityEnabled": True,
        "isAssignableToRole": _role_assignable(sim, group),
    }


def directory_role_json(sim: Sim, template_id: str) -> dict[str, Any]:
    """An activated directory role; its object id is stable per tenant and template."""
    role_id = uuid.uuid5(uuid.UUID(sim.state.tenant_id), f"directoryRole:{template_id}")
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": str(role_id),
        "displayName": _ROLE_NAME_BY_TEMPLATE.get(template_id, template_id),
        "description": None,
        "roleTemplateId": template_id,
    }


def role_assignment_json(assignment: RoleAssignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "principalId": assignment.principal_id,
        "roleDefinitionId": assignment.role_definition_id,
        "directoryScopeId": assignment.directory_scope_id,
        "resourceScope": assignment.directory_scope_id,
        "appScopeId": None,
    }


ROLE_ASSIGNMENT_ALL: Final = frozenset(
    {"id", "principalId", "roleDefinitionId", "directoryScopeId", "resourceScope", "appScopeId"}
)
ROLE_ASSIGNMENT_DEFAULT: Final = [
    "id",
    "principalId",
    "resourceScope",
    "directoryScopeId",
    "roleDefinitionId",
]


def _principal_json(sim: Sim, principal_id: str) -> dict[str, Any] | None:
    st = sim.state
    if principal_id in st.users:
        return {"@odata.type": "#microsoft.graph.user", **user_json(st.users[principal_id])}
    if principal_id in st.groups:
        return group_json(sim, st.groups[principal_id])
    if principal_id == st.application.object_id:
        return {
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": st.application.object_id,
            "appId": st.application.app_id,
            "displayName": "MailOps",
        }
    return None


def _role_definition_json(template_id: str) -> dict[str, Any]:
    return {
        "id": template_id,
        "templateId": template_id,
        "displayName": _ROLE_NAME_BY_TEMPLATE.get(template_id, template_id),
        "isBuiltIn": True,
        "isEnabled": True,
    }


# ---- handlers ---------------------------------------------------------------------------


def _expand(request: web.Request) -> set[str]:
    raw = request.query.get("$expand")
    if raw is None:
        return set()
    wanted = {p.strip() for p in raw.split(",")}
    unknown = wanted - {"principal", "roleDefinition"}
    if unknown:
        raise _bad_request(f"Invalid $expand: '{', '.join(sorted(unknown))}' is not supported.")
    return wanted


def _assignment_items(request: web.Request, sim: Sim) -> list[dict[str, Any]]:
    selected = _select(request, ROLE_ASSIGNMENT_ALL, "microsoft.graph.unifiedRoleAssignment")
    expand = _expand(request)
    items = []
    for assignment in sim.state.role_assignments:
        obj = _project(role_assignment_json(assignment), selected, ROLE_ASSIGNMENT_DEFAULT)
        if "principal" in expand:
            obj["principal"] = _principal_json(sim, assignment.principal_id)
        if "roleDefinition" in expand:
            obj["roleDefinition"] = _role_definition_json(assignment.role_definition_id)
        items.append((assignment, obj))
    predicate: Predicate = lambda _row: True  # noqa: E731
    if "$filter" in request.query:
        predicate = compile_filter(
            request.query["$filter"],
            FilterSpec(
                "microsoft.graph.unifiedRoleAssignment",
                ROLE_ASSIGNMENT_PROPS,
                frozenset({"and"}),
            ),
            advanced=False,
        )
    return [obj for a, obj in items if predicate(role_assignment_json(a))]


@_graph_route(ROLE_READ)
def list_role_assignments(request: web.Request, sim: Sim) -> web.Response:
    _check_options(request, frozenset({"$filter", "$select", "$expand"}))
    items = _assignment_items(request, sim)
    suffix = "(principal())" if "principal" in _expand(request) else ""
    return web.json_response(
        {
            "@odata.context": _context(sim, f"roleManagement/directory/roleAssignments{suffix}"),
            "value": items,
        }
    )


@_graph_route(ROLE_READ)
def get_role_assignment(request: web.Request, sim: Sim) -> web.Response:
    _check_options(request, frozenset({"$select", "$expand"}))
    wanted = request.match_info["assignment_id"]
    selected = _select(request, ROLE_ASSIGNMENT_ALL, "microsoft.graph.unifiedRoleAssignment")
    expand = _expand(request)
    for assignment in sim.state.role_assignments:
        if assignment.id == wanted:
            obj = _project(role_assignment_json(assignment), selected, ROLE_ASSIGNMENT_DEFAULT)
            if "principal" in expand:
                obj["principal"] = _principal_json(sim, assignment.principal_id)
            if "roleDefinition" in expand:
                obj["roleDefinition"] = _role_definition_json(assignment.role_definition_id)
            context = _context(sim, "roleManagement/directory/roleAssignments/$entity")
            return web.json_response({"@odata.context": context, **obj})
    raise GraphError(
        404, "Request_ResourceNotFound", f"Resource '{wanted}' does not exist or one of its "
        "queried reference-property objects are not present.",
    )  # fmt: skip


def _find_user(sim: Sim, key: str) -> DirectoryUser:
    wanted = key.lower()
    user = sim.state.users.get(wanted)
    if user is None:
        user = next(
            (u for u in sim.state.users.values() if u.user_principal_name.lower() == wanted),
            None,
        )
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    return user


def _users(request: web.Request, sim: Sim, *, advanced: bool) -> list[dict[str, Any]]:
    rows = [user_json(u) for u in sim.state.users.values()]
    if "$filter" in request.query:
        predicate = compile_filter(
            request.query["$filter"],
            FilterSpec("microsoft.graph.user", USER_PROPS, frozenset({"and", "or"})),
            advanced=advanced,
        )
        rows = [r for r in rows if predicate(r)]
    return rows


@_graph_route(USER_READ)
def list_users(request: web.Request, sim: Sim) -> web.Response:
    _check_options(request, frozenset({"$filter", "$select", "$top", "$skiptoken", "$count"}))
    selected = _select(request, USER_ALL, "microsoft.graph.user")
    rows = [
        _project(r, selected, USER_DEFAULT)
        for r in _users(request, sim, advanced=_advanced(request))
    ]
    fragment = f"users({','.join(selected)})" if selected else "users"
    return _page(request, sim, rows, _context(sim, fragment))


@_graph_route(USER_READ)
def count_users(request: web.Request, sim: Sim) -> web.Response:
    _check_options(request, frozenset({"$filter"}))
    if request.headers.get("ConsistencyLevel", "").strip().lower() != "eventual":
        raise _bad_request("$count needs the header 'ConsistencyLevel: eventual'.")
    filtered = _users(request, sim, advanced=True)
    return web.Response(text=str(len(filtered)), content_type="text/plain")


@_graph_route(USER_READ)
def get_user(request: web.Request, sim: Sim) -> web.Response:
    _check_options(request, frozenset({"$select"}))
    user = _find_user(sim, request.match_info["user"])
    selected = _select(request, USER_ALL, "microsoft.graph.user")
    fragment = f"users({','.join(selected)})/$entity" if selected else "users/$entity"
    body = {"@odata.context": _context(sim, fragment)}
    body.update(_project(user_json(user), selected, USER_DEFAULT))
    return web.json_response(body)


# Graph's CSDL ($metadata) declares the alias `graph` for its namespace
# (`<Schema Namespace="microsoft.graph" Alias="graph">`), and OData CSDL lets a qualified name
# use the namespace or its alias (OData CSDL XML 4.01, "Alias"). Microsoft's SDKs (msgraph-sdk)
# send the alias (`/transitiveMemberOf/graph.group`); Graph takes both forms (reference §7).
_NAMESPACE: Final = "microsoft.graph."
_NAMESPACE_ALIAS: Final = "graph."


def _cast_segment(request: web.Request) -> str:
    """The `{cast}` route segment with the namespace alias spelled out: every cast rule below
    sees only the full name."""
    cast = request.match_info["cast"]
    if cast.startswith(_NAMESPACE_ALIAS):
        return _NAMESPACE + cast.removeprefix(_NAMESPACE_ALIAS)
    return cast


_CASTS: Final = {
    "microsoft.graph.group": "#microsoft.graph.group",
    "microsoft.graph.directoryRole": "#microsoft.graph.directoryRole",
}


def _memberships(sim: Sim, user: DirectoryUser) -> list[dict[str, Any]]:
    """Groups the user is in, then the directory roles held directly or through a group."""
    st = sim.state
    groups = [g for g in st.groups.values() if user.id in g.members]
    principals = {user.id} | {g.id for g in groups}
    templates: list[str] = []
    for assignment in st.role_assignments:
        if (
            assignment.principal_id in principals
            and assignment.role_definition_id not in templates
        ):
            templates.append(assignment.role_definition_id)
    return [group_json(sim, g) for g in groups] + [directory_role_json(sim, t) for t in templates]


_MEMBERSHIP_SELECT: Final = frozenset(
    {
        "id",
        "displayName",
        "description",
        "groupTypes",
        "mailEnabled",
        "mail",
        "mailNickname",
        "securityEnabled",
        "isAssignableToRole",
        "roleTemplateId",
    }
)


def _membership_items(request: web.Request, sim: Sim, cast: str | None) -> list[dict[str, Any]]:
    user = _find_user(sim, request.match_info["user"])
    if cast is not None and cast not in _CASTS:
        raise _bad_request(f"Resource not found for the segment '{cast}'.")
    needs_advanced = cast is not None or "$filter" in request.query
    if needs_advanced and not _advanced(request):
        raise _unsupported(
            "$filter and OData casts on transitiveMemberOf need the header "
            "'ConsistencyLevel: eventual' and '$count=true'."
        )
    items = _memberships(sim, user)
    if cast is not None:
        items = [i for i in items if i["@odata.type"] == _CASTS[cast]]
    if "$filter" in request.query:
        predicate = compile_filter(
            request.query["$filter"],
            FilterSpec(
                "microsoft.graph.directoryObject", MEMBERSHIP_PROPS, frozenset({"and", "or"})
            ),
            advanced=True,
        )
        items = [i for i in items if predicate(i)]
    selected = _select(request, _MEMBERSHIP_SELECT, "microsoft.graph.directoryObject")
    if selected is not None:
        items = [
            {"@odata.type": i["@odata.type"], **{k: i.get(k) for k in selected}} for i in items
        ]
    return items


def _transitive(request: web.Request, sim: Sim, cast: str | None) -> web.Response:
    _check_options(request, frozenset({"$filter", "$select", "$top", "$skiptoken", "$count"}))
    items = _membership_items(request, sim, cast)
    fragment = "groups" if cast == "microsoft.graph.group" else "directoryObjects"
    if cast == "microsoft.graph.directoryRole":
        fragment = "directoryRoles"
    return _page(request, sim, items, _context(sim, fragment))


@_graph_route(MEMBERSHIP_READ)
def transitive_member_of(request: web.Request, sim: Sim) -> web.Response:
    return _transitive(request, sim, None)


@_graph_route(MEMBERSHIP_READ)
def transitive_member_of_cast(request: web.Request, sim: Sim) -> web.Response:
    cast = _cast_segment(request)
    if cast == "$count":
        return _transitive_count(request, sim, None)
    return _transitive(request, sim, cast)


@_graph_route(MEMBERSHIP_READ)
def transitive_member_of_cast_count(request: web.Request, sim: Sim) -> web.Response:
    return _transitive_count(request, sim, _cast_segment(request))


def _count_segment(request: web.Request, count: Callable[[], int]) -> web.Response:
    """A `/$count` segment: an advanced query (the ConsistencyLevel header is required), the
    number as plain text."""
    _check_options(request, frozenset({"$filter"}))
    if request.headers.get("ConsistencyLevel", "").strip().lower() != "eventual":
        raise _bad_request("$count needs the header 'ConsistencyLevel: eventual'.")
    return web.Response(text=str(count()), content_type="text/plain")


def _transitive_count(request: web.Request, sim: Sim, cast: str | None) -> web.Response:
    def count() -> int:
        user = _find_user(sim, request.match_info["user"])
        if cast is not None and cast not in _CASTS:
            raise _bad_request(f"Resource not found for the segment '{cast}'.")
        items = _memberships(sim, user)
        if cast is not None:
            items = [i for i in items if i["@odata.type"] == _CASTS[cast]]
        return len(items)

    return _count_segment(request, count)


# ---- a group's members -------------------------------------------------------------------


@dataclass(frozen=True)
class _MemberType:
    odata_type: str  # "#microsoft.graph.user"
    collection: str  # the @odata.context fragment: "users"


# The member types a group's transitiveMembers can be cast to; a cast to any other type is
# 400 Request_UnsupportedQuery (group-list-transitivemembers). The sim's groups hold users
# only, so the other casts answer an empty list.
_MEMBER_CASTS: Final = {
    f"microsoft.graph.{name}": _MemberType(f"#microsoft.graph.{name}", collection)
    for name, collection in (
        ("user", "users"),
        ("group", "groups"),
        ("device", "devices"),
        ("orgContact", "contacts"),
        ("servicePrincipal", "servicePrincipals"),
    )
}


def _find_group(sim: Sim, key: str) -> DirectoryGroup:
    group = sim.state.groups.get(key.lower())
    if group is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    return group


def _member_items(
    request: web.Request, group: DirectoryGroup, sim: Sim, cast: str | None
) -> list[dict[str, Any]]:
    """The group's members, cast and filtered: users in directory order, then the others
    (the app's service principal, say) by id. The sim does not nest groups (nor can a
    role-assignable group hold one), so the transitive list is the direct one."""
    kind = None if cast is None else _MEMBER_CASTS.get(cast)
    if cast is not None and kind is None:
        raise _unsupported(f"'{cast}' is not a member type of a group: the cast is not supported.")
    users = [u.id for u in sim.state.users.values() if u.id in group.members]
    others = sorted(group.members - set(users))
    found = (_principal_json(sim, member) for member in [*users, *others])
    items = [item for item in found if item is not None]
    if kind is not None:
        items = [i for i in items if i["@odata.type"] == kind.odata_type]
    if "$filter" in request.query:
        predicate = compile_filter(
            request.query["$filter"],
            FilterSpec(_member_entity(cast), USER_PROPS, frozenset({"and", "or"})),
            advanced=True,
        )
        items = [i for i in items if predicate(i)]
    return items


def _member_entity(cast: str | None) -> str:
    return cast if cast in _MEMBER_CASTS else "microsoft.graph.directoryObject"


def _project_member(item: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    """A user as `users` shows one; another member type with the properties it has."""
    if item["@odata.type"] == "#microsoft.graph.user":
        return _project(item, selected, USER_DEFAULT)
    return {
        k: v
        for k, v in item.items()
        if k.startswith("@odata.") or selected is None or k in selected
    }


def _transitive_members(request: web.Request, sim: Sim, cast: str | None) -> web.Response:
    _check_options(request, frozenset({"$filter", "$select", "$top", "$skiptoken", "$count"}))
    group = _find_group(sim, request.match_info["group"])
    if (cast is not None or "$filter" in request.query) and not _advanced(request):
        raise _unsupported(
            "$filter and OData casts on transitiveMembers need the header "
            "'ConsistencyLevel: eventual' and '$count=true'."
        )
    items = _member_items(request, group, sim, cast)
    selected = _select(request, USER_ALL, _member_entity(cast))
    rows = [_project_member(i, selected) for i in items]
    collection = "directoryObjects"
    if cast is not None:  # the context names the type; the items do not repeat it
        collection = _MEMBER_CASTS[cast].collection
        rows = [{k: v for k, v in r.items() if k != "@odata.type"} for r in rows]
    fragment = f"{collection}({','.join(selected)})" if selected else collection
    return _page(request, sim, rows, _context(sim, fragment))


def _transitive_members_count(request: web.Request, sim: Sim, cast: str | None) -> web.Response:
    def count() -> int:
        group = _find_group(sim, request.match_info["group"])
        return len(_member_items(request, group, sim, cast))

    return _count_segment(request, count)


@_graph_route(GROUP_MEMBER_READ)
def transitive_members(request: web.Request, sim: Sim) -> web.Response:
    return _transitive_members(request, sim, None)


@_graph_route(GROUP_MEMBER_READ)
def transitive_members_cast(request: web.Request, sim: Sim) -> web.Response:
    cast = _cast_segment(request)
    if cast == "$count":
        return _transitive_members_count(request, sim, None)
    return _transitive_members(request, sim, cast)


@_graph_route(GROUP_MEMBER_READ)
def transitive_members_cast_count(request: web.Request, sim: Sim) -> web.Response:
    return _transitive_members_count(request, sim, _cast_segment(request))


async def unknown_segment(request: web.Request) -> web.StreamResponse:
    try:
        _authorize(request, None)
    except GraphError as exc:
        return graph_error(request, exc.status, exc.code, exc.message)
    if request.method != "GET":
        return graph_error(
            request,
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    segment = request.match_info["tail"].split("/")[0] or "v1.0"
    return graph_error(
        request, 400, "BadRequest", f"Resource not found for the segment '{segment}'."
    )


def setup(app: web.Application) -> None:
    """Add the Graph routes under /v1.0/."""
    r = app.router
    base = "/v1.0/roleManagement/directory/roleAssignments"
    r.add_get(base, list_role_assignments)
    r.add_get(base + "/{assignment_id}", get_role_assignment)
    r.add_get("/v1.0/users", list_users)
    r.add_get("/v1.0/users/$count", count_users)
    r.add_get("/v1.0/users/{user}", get_user)
    r.add_get("/v1.0/users/{user}/transitiveMemberOf", transitive_member_of)
    r.add_get("/v1.0/users/{user}/transitiveMemberOf/{cast}", transitive_member_of_cast)
    r.add_get(
        "/v1.0/users/{user}/transitiveMemberOf/{cast}/$count", transitive_member_of_cast_count
    )
    members = "/v1.0/groups/{group}/transitiveMembers"
    r.add_get(members, transitive_members)
    r.add_get(members + "/{cast}", transitive_members_cast)
    r.add_get(members + "/{cast}/$count", transitive_members_cast_count)
    r.add_route("*", "/v1.0/{tail:.*}", unknown_segment)
