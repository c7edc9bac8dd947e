"""The Entra ID face: OpenID configuration, JWKS and the v2.0 token endpoint.

Routes (the `{tenant}` segment accepts the tenant id, the fixture's domain or
`<tenant name>.onmicrosoft.com`; anything else is AADSTS90002):

| route | what |
|---|---|
| `GET /{tenant}/v2.0/.well-known/openid-configuration` | discovery document (what msal reads) |
| `GET /{tenant}/discovery/v2.0/keys` | JWKS with the sim's one RSA signing key |
| `POST /{tenant}/oauth2/v2.0/token` | `client_credentials` and the on-behalf-of grant |

Tokens are RS256 JWTs signed with a key generated per sim (kept in `sim.extras`), issuer
`{origin}/{tenant id}/v2.0`. They carry `aud` (the resource, no trailing slash), `iss`, `tid`,
`oid`, `sub`, `appid` and `azp`, `iat`/`nbf`/`exp`, `roles` (application permissions) for app
tokens and `scp` (delegated permissions) plus `upn`/`name` for user tokens.

The other faces call `authenticate(request, audience=...)`, which validates the bearer token
and returns a `Caller`, or raises `AuthError` that each face maps to its own error body.

Errors follow Entra's token endpoint: a JSON body with `error`, `error_description`
(starting with the AADSTS code), `error_codes`, `timestamp`, `trace_id` and `correlation_id`;
400 for protocol errors, 401 for a bad client secret (invalid_client).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from sim.context import SIM, Sim

GRAPH_RESOURCE: Final = "https://graph.microsoft.com"
GRAPH_APP_ID: Final = "00000003-0000-0000-c000-000000000000"
CLOCK_SKEW_S: Final = 5  # leeway when checking exp/nbf: "a few seconds", no more
USER_TOKEN_SCOPE: Final = "access_as_user"  # noqa: S105 - what a Teams SSO token for the bot carries
DATAVERSE_DELEGATED_SCOPE: Final = "user_impersonation"  # reference §6.9

_KEY_EXTRA: Final = "entra.signing_key"
_OIDC_SCOPES: Final = frozenset({"openid", "profile", "offline_access", "email"})
_GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"
_GRANT_JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"


# ---- the key ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """The sim's token signing key; `kid` is its RFC 7638 JWK thumbprint."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()
        canonical = json.dumps(
            {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)},
            separators=(",", ":"),
            sort_keys=True,
        )
        return cls(key, _b64url(hashlib.sha256(canonical.encode()).digest()))

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self, issuer: str) -> dict[str, str]:
        numbers = self.public_key.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
            "issuer": issuer,
        }


def signing_key(sim: Sim) -> SigningKey:
    """The sim's signing key, created on first use (at startup when the face is set up)."""
    key = sim.extras.get(_KEY_EXTRA)
    if not isinstance(key, SigningKey):
        key = SigningKey.generate()
        sim.extras[_KEY_EXTRA] = key
    return key


def token_lifetime_s(sim: Sim) -> int:
    """Lifetime of tokens the token endpoint issues (`Limits.token_lifetime_s`); tests
    shorten it with `POST /_sim/limits {"token_lifetime_s": N}`, reset restores it."""
    return sim.limits.token_lifetime_s


# ---- names and identities -------------------------------------------------------------


def issuer(sim: Sim) -> str:
    return f"{sim.origin}/{sim.state.tenant_id}/v2.0"


def resolve_tenant(sim: Sim, segment: str) -> str | None:
    """The tenant id for a path segment (id, domain or <name>.onmicrosoft.com), or None."""
    wanted = segment.lower()
    st = sim.state
    known = {
        st.tenant_id.lower(),
        st.domain.lower(),
        f"{st.tenant_name.lower().replace(' ', '')}.onmicrosoft.com",
    }
    return st.tenant_id if wanted in known else None


def dataverse_audiences(sim: Sim) -> frozenset[str]:
    """The Dataverse environment URL, with and without the trailing slash."""
    origin = sim.origin.rstrip("/")
    return frozenset({origin, origin + "/"})


def graph_audiences() -> frozenset[str]:
    return frozenset({GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID})


def _accepted_audiences(sim: Sim, audience: str) -> frozenset[str]:
    """Everything that names the same resource as `audience`."""
    bare = audience.rstrip("/")
    if bare.lower() in {GRAPH_RESOURCE, GRAPH_APP_ID}:
        return graph_audiences()
    if bare.lower() == sim.origin.rstrip("/").lower():
        return dataverse_audiences(sim)
    return frozenset({bare, bare + "/"})


def _canonical_resource(sim: Sim, resource: str) -> str | None:
    """The `aud` for a requested resource, or None when the tenant has no such resource."""
    bare = resource.rstrip("/")
    if bare.lower() in {GRAPH_RESOURCE, GRAPH_APP_ID}:
        return GRAPH_RESOURCE
    if bare.lower() == sim.origin.rstrip("/").lower():
        return sim.origin.rstrip("/")
    return None


# ---- minting ---------------------------------------------------------------------------


def sign(sim: Sim, claims: dict[str, Any], *, key: SigningKey | None = None) -> str:
    """Sign `claims` as an RS256 JWT (with the sim's key unless `key` is given: forgeries)."""
    k = key or signing_key(sim)
    return jwt.encode(
        claims, k.private_key, algorithm="RS256", headers={"kid": k.kid, "typ": "JWT"}
    )


def _base_claims(sim: Sim, *, audience: str, lifetime_s: int, now: int | None) -> dict[str, Any]:
    t = int(time.time()) if now is None else now
    if lifetime_s > 0:
        iat, exp = t, t + lifetime_s
    else:  # already expired: issued an hour before it ran out
        exp = t + lifetime_s
        iat = exp - 3600
    return {
        "aud": audience,
        "iss": issuer(sim),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "tid": sim.state.tenant_id,
        "ver": "2.0",
        "uti": _b64url(uuid.uuid4().bytes),
    }


def issue_app_token(
    sim: Sim, *, audience: str, lifetime_s: int | None = None, now: int | None = None
) -> str:
    """An app-only token for the fixture's application (what client credentials returns)."""
    app = sim.state.application
    claims = _base_claims(
        sim,
        audience=audience,
        lifetime_s=token_lifetime_s(sim) if lifetime_s is None else lifetime_s,
        now=now,
    )
    claims |= {
        "oid": app.object_id,
        "sub": app.object_id,
        "appid": app.app_id,
        "azp": app.app_id,
        "appidacr": "1",  # 1 = client secret
        "azpacr": "1",
        "idtyp": "app",
    }
    if audience == GRAPH_RESOURCE and app.app_roles:
        claims["roles"] = sorted(app.app_roles)
    return sign(sim, claims)


class UnknownUser(LookupError):
    """No directory user with that object id."""


def issue_user_token(
    sim: Sim,
    *,
    object_id: str,
    audience: str | None = None,
    scopes: Iterable[str] | None = None,
    lifetime_s: int | None = None,
    now: int | None = None,
) -> str:
    """A delegated token for a directory user.

    With the defaults it is what Teams SSO hands the bot: audience = the bot's client id,
    `scp` = access_as_user, issued to (azp) the bot itself. Raises UnknownUser.
    """
    user = sim.state.users.get(object_id.lower())
    if user is None:
        raise UnknownUser(object_id)
    app = sim.state.application
    aud = audience.rstrip("/") if audience else app.app_id
    claims = _base_claims(
        sim,
        audience=aud,
        lifetime_s=token_lifetime_s(sim) if lifetime_s is None else lifetime_s,
        now=now,
    )
    claims |= {
        "oid": user.id,
        "sub": _b64url(hashlib.sha256(f"{user.id}:{app.app_id}".encode()).digest()),
        "appid": app.app_id,
        "azp": app.app_id,
        "appidacr": "1",
        "azpacr": "1",
        "scp": " ".join(scopes) if scopes is not None else USER_TOKEN_SCOPE,
        "upn": user.user_principal_name,
        "preferred_username": user.user_principal_name,
        "unique_name": user.user_principal_name,
        "name": user.display_name,
    }
    return sign(sim, claims)


# ---- validation (what the other faces call) --------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who presented a valid token."""

    object_id: str
    app_id: str
    tenant_id: str
    app_only: bool
    scopes: frozenset[str]
    roles: frozenset[str]
    upn: str | None = None


class AuthError(Exception):
    """A missing or bad bearer token; each face turns it into its own 401 body.

    Codes: missing_token, invalid_token, invalid_signature, expired_token,
    token_not_yet_valid, invalid_audience, invalid_issuer, invalid_tenant.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"AuthError({self.code!r}, {self.message!r})"


def bearer_token(request: web.Request) -> str:
    """The token in `Authorization: Bearer …`; raises AuthError."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise AuthError("missing_token", "Bearer token is missing.")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("invalid_token", "The Authorization header is not a Bearer token.")
    return token.strip()


_VALIDATED_KEPT: Final = 1024


def _validated_tokens(sim: Sim) -> OrderedDict[tuple[str, str], dict[str, Any]]:
    """(key id, token) pairs that passed every check, with their claims, oldest first.

    A service keeps what it learnt from a bearer token it sees on every request (signature,
    issuer, tenant, format) and checks again only what can change: whether it has expired,
    and whether its audience fits the endpoint asked. Anything else goes through the whole
    check again, so that a failing token always gets PyJWT's verdict and its error.
    """
    kept: OrderedDict[tuple[str, str], dict[str, Any]] = sim.extras.setdefault(
        "validated_tokens", OrderedDict()
    )
    return kept


def _still_valid(claims: dict[str, Any], accepted: Sequence[str]) -> bool:
    # PyJWT's own tests: expired when exp <= now - leeway; an audience claim (a string or
    # a list) passes when one of its values is accepted.
    if claims["exp"] <= time.time() - CLOCK_SKEW_S:
        return False
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    return any(a in accepted for a in audiences)


def validate_token(sim: Sim, token: str, *, audiences: Iterable[str]) -> Caller:
    """Check signature (the sim's key), audience, issuer, tenant, exp/nbf; raises AuthError.

    Each audience also stands for its aliases (trailing slash; Graph's app id).
    """
    key = signing_key(sim)
    accepted = sorted({a for aud in audiences for a in _accepted_audiences(sim, aud)})
    validated = _validated_tokens(sim)
    claims = validated.get((key.kid, token))
    if claims is None or not _still_valid(claims, accepted):
        claims = _decode(sim, key, token, accepted)
        validated[(key.kid, token)] = claims
        while len(validated) > _VALIDATED_KEPT:
            validated.popitem(last=False)
    scp = claims.get("scp")
    roles = claims.get("roles")
    upn = claims.get("upn")
    return Caller(
        object_id=str(claims["oid"]).lower(),
        app_id=str(claims.get("appid") or claims.get("azp") or "").lower(),
        tenant_id=str(claims["tid"]).lower(),
        app_only=claims.get("idtyp") == "app" or "scp" not in claims,
        scopes=frozenset(scp.split()) if isinstance(scp, str) else frozenset(),
        roles=frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset(),
        upn=str(upn) if isinstance(upn, str) else None,
    )


def _decode(sim: Sim, key: SigningKey, token: str, accepted: list[str]) -> dict[str, Any]:
    """Every check, by PyJWT: the claims of a valid token, else AuthError."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"The token is malformed: {exc}.") from None
    if header.get("alg") != "RS256":
        raise AuthError("invalid_token", "The token is not signed with RS256.")
    if header.get("kid") != key.kid:
        raise AuthError("invalid_signature", "The token's signing key (kid) is not known.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=["RS256"],
            audience=accepted,
            issuer=issuer(sim),
            leeway=CLOCK_SKEW_S,
            options={"require": ["exp", "nbf", "iat", "aud", "iss", "tid", "oid"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("expired_token", "The token is expired.") from None
    except jwt.ImmatureSignatureError:
        raise AuthError("token_not_yet_valid", "The token is not valid yet (nbf).") from None
    except jwt.InvalidAudienceError:
        raise AuthError(
            "invalid_audience", f"The token's audience is not one of {', '.join(accepted)}."
        ) from None
    except jwt.InvalidIssuerError:
        raise AuthError("invalid_issuer", f"The token's issuer is not {issuer(sim)}.") from None
    except jwt.InvalidSignatureError:
        raise AuthError("invalid_signature", "The token's signature is invalid.") from None
    except jwt.PyJWTError as exc:
        raise AuthError("invalid_token", f"The token is invalid: {exc}.") from None
    if str(claims["tid"]).lower() != sim.state.tenant_id.lower():
        raise AuthError("invalid_tenant", "The token was issued for another tenant.")
    return claims


def authenticate(request: web.Request, *, audience: str) -> Caller:
    """Validate the request's bearer token for `audience`; raises AuthError.

    `audience` is the resource the face serves: `sim.origin` for Dataverse (with or without
    a trailing slash), `GRAPH_RESOURCE` for Graph (its app id is accepted too).
    """
    return validate_token(request.app[SIM], bearer_token(request), audiences=[audience])


# ---- the token endpoint ---------------------------------------------------------------


class EntraError(Exception):
    """An error the token endpoint answers in Entra's shape."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def response(self) -> web.Response:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        description = (
            f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        )
        body = {
            "error": self.error,
            "error_description": description,
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }
        return web.json_response(body, status=self.status, headers=_NO_STORE)


_CLAIMS: Final = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "tid",
    "oid",
    "name",
    "preferred_username",
    "upn",
    "appid",
    "azp",
    "roles",
    "scp",
]
_NO_STORE: Final = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def _missing(name: str) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _tenant_or_error(sim: Sim, segment: str) -> str:
    tenant = resolve_tenant(sim, segment)
    if tenant is None:
        raise EntraError(
            400,
            "invalid_tenant" if segment else "invalid_request",
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return tenant


def _split_scopes(scope: str) -> dict[str, list[str]]:
    """Requested scopes grouped by resource (OIDC scopes dropped). Bare names are Graph's."""
    by_resource: dict[str, list[str]] = {}
    for item in scope.split():
        if item in _OIDC_SCOPES:
            continue
        if "/" in item and ("://" in item or item.endswith("/.default")):
            resource, _, permission = item.rpartition("/")
        else:
            resource, permission = GRAPH_RESOURCE, item
        by_resource.setdefault(resource.rstrip("/").lower(), []).append(permission)
    return by_resource


def _resource_or_error(sim: Sim, resource: str) -> str:
    audience = _canonical_resource(sim, resource)
    if audience is None:
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{sim.state.tenant_name}. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by any user in the "
            "tenant. You might have sent your authentication request to the wrong tenant.",
        )
    return audience


def _check_client(sim: Sim, form: dict[str, str]) -> None:
    client_id = form.get("client_id", "").strip()
    if not client_id:
        raise _missing("client_id")
    app = sim.state.application
    if client_id.lower() != app.app_id:
        raise EntraError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{sim.state.tenant_name}'. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by any user in the "
            "tenant. You may have sent your authentication request to the wrong tenant.",
        )
    secret = form.get("client_secret")
    if not secret:
        raise EntraError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    if secret != app.client_secret:
        raise EntraError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is "
            "the client secret value, not the client secret ID, for a secret added to app "
            f"'{app.app_id}'.",
        )


def _token_response(
    sim: Sim, token: str, scope: str, *, client_info: dict[str, str] | None = None
) -> web.Response:
    lifetime = token_lifetime_s(sim)
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": max(lifetime, 0),
        "ext_expires_in": max(lifetime, 0),
        "access_token": token,
    }
    if client_info is not None:
        body["client_info"] = _b64url(json.dumps(client_info).encode())
    return web.json_response(body, headers=_NO_STORE)


def _client_credentials(sim: Sim, form: dict[str, str]) -> web.Response:
    scope = form.get("scope", "").strip()
    if not scope:
        raise _missing("scope")
    items = [s for s in scope.split() if s not in _OIDC_SCOPES]
    if not all(s.endswith("/.default") for s in items) or not items:
        raise EntraError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    if len(items) != 1:
        raise EntraError(
            400,
            "invalid_scope",
            70011,
            "The provided request must include a 'scope' input parameter. The provided value "
            f"for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
        )
    audience = _resource_or_error(sim, items[0].removesuffix("/.default"))
    token = issue_app_token(sim, audience=audience)
    return _token_response(sim, token, f"{audience}/.default")


def _assertion_user(sim: Sim, assertion: str) -> str:
    """The object id of the user whose token the bot passes on; raises invalid_grant."""
    app = sim.state.application
    try:
        caller = validate_token(
            sim,
            assertion,
            audiences={app.app_id, f"api://{app.app_id}"}
            | {f"api://{sim.state.domain}/{app.app_id}"},
        )
    except AuthError as exc:
        codes = {
            "expired_token": (500133, "Assertion is not within its valid time range."),
            "token_not_yet_valid": (500133, "Assertion is not within its valid time range."),
            "invalid_audience": (
                50013,
                "Assertion failed signature validation. [Reason - The assertion audience does "
                "not match the client app presenting it.]",
            ),
        }
        aadsts, text = codes.get(
            exc.code, (50013, f"Assertion failed signature validation. [Reason - {exc.message}]")
        )
        raise EntraError(400, "invalid_grant", aadsts, text) from None
    if caller.app_only:
        raise EntraError(
            400,
            "invalid_grant",
            50013,
            "Assertion failed signature validation. [Reason - An app-only token cannot be "
            "used as a user assertion.]",
        )
    user = sim.state.users.get(caller.object_id)
    if user is None:
        raise EntraError(
            400,
            "invalid_grant",
            50034,
            f"The user account {caller.object_id} does not exist in the directory.",
        )
    if not user.account_enabled:
        raise EntraError(400, "invalid_grant", 50057, "The user account is disabled.")
    return user.id


def _on_behalf_of(sim: Sim, form: dict[str, str]) -> web.Response:
    if form.get("requested_token_use") != "on_behalf_of":
        raise _missing("requested_token_use")
    assertion = form.get("assertion", "").strip()
    if not assertion:
        raise _missing("assertion")
    scope = form.get("scope", "").strip()
    if not scope:
        raise _missing("scope")
    by_resource = _split_scopes(scope)
    if not by_resource:
        raise EntraError(
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope "
            f"{scope} is not valid.",
        )
    if len(by_resource) > 1:
        raise EntraError(
            400,
            "invalid_scope",
            28000,
            "Provided value for the input parameter scope is not valid because it contains "
            f"more than one resource. Scope {scope} is not valid.",
        )
    ((resource, permissions),) = by_resource.items()
    audience = _resource_or_error(sim, resource)
    object_id = _assertion_user(sim, assertion)
    if ".default" in permissions:
        # Every delegated permission consented for the resource. The sim treats the app's
        # Graph permissions as also consented as delegated ones; Dataverse has one.
        granted = (
            sorted(sim.state.application.app_roles)
            if audience == GRAPH_RESOURCE
            else [DATAVERSE_DELEGATED_SCOPE]
        )
    else:
        granted = sorted(set(permissions))
    token = issue_user_token(sim, object_id=object_id, audience=audience, scopes=granted)
    shown = " ".join(f"{audience}/{p}" for p in granted)
    client_info = None
    if form.get("client_info") == "1":
        client_info = {"uid": object_id, "utid": sim.state.tenant_id}
    return _token_response(sim, token, shown, client_info=client_info)


async def token_endpoint(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    try:
        _tenant_or_error(sim, request.match_info["tenant"])
        raw = await request.post() if request.body_exists else {}
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        grant = form.get("grant_type", "").strip()
        if not grant:
            raise _missing("grant_type")
        if grant not in {_GRANT_CLIENT_CREDENTIALS, _GRANT_JWT_BEARER}:
            raise EntraError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        _check_client(sim, form)
        if grant == _GRANT_CLIENT_CREDENTIALS:
            return _client_credentials(sim, form)
        return _on_behalf_of(sim, form)
    except EntraError as exc:
        return exc.response()


async def openid_configuration(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    try:
        tenant = _tenant_or_error(sim, request.match_info["tenant"])
    except EntraError as exc:
        return exc.response()
    base = f"{sim.origin}/{tenant}"
    return web.json_response(
        {
            "issuer": issuer(sim),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "grant_types_supported": [_GRANT_CLIENT_CREDENTIALS, _GRANT_JWT_BEARER],
            "claims_supported": list(_CLAIMS),
            "request_uri_parameter_supported": False,
            "tenant_region_scope": None,
            "cloud_instance_name": "sim",
            "msgraph_host": sim.origin.removeprefix("https://"),
        }
    )


async def jwks(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    try:
        _tenant_or_error(sim, request.match_info["tenant"])
    except EntraError as exc:
        return exc.response()
    return web.json_response({"keys": [signing_key(sim).jwk(issuer(sim))]})


async def authorize(request: web.Request) -> web.Response:
    """Interactive sign-in is not simulated; Teams SSO tokens come from POST /_sim/token."""
    sim = request.app[SIM]
    try:
        _tenant_or_error(sim, request.match_info["tenant"])
        raise EntraError(
            400,
            "unsupported_response_type",
            900561,
            "Interactive sign-in is not available in the sim; mint a user token with "
            "POST /_sim/token.",
        )
    except EntraError as exc:
        return exc.response()


def setup(app: web.Application) -> None:
    """Add this face's routes and make the signing key now, not on the first request."""
    sim = app[SIM]
    signing_key(sim)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", jwks)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token_endpoint)
    app.router.add_get("/{tenant}/oauth2/v2.0/authorize", authorize)
