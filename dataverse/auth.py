"""Entra ID tokens through msal, and the `httpx.Auth` that puts them on requests.

- `EntraApp` owns one msal `ConfidentialClientApplication` (and so one token cache) for
  one (authority, client id); `EntraApps` hands out exactly one per pair.
- Providers (`ClientCredentials`, `OnBehalfOf`) keep the current token, renew it a little
  before it expires, and let concurrent callers share one renewal.
- `BearerAuth` is the `httpx.Auth` hook: call sites never see tokens.

msal is synchronous (requests underneath), so every msal call runs in a worker thread.
When a CA file is given, msal talks through a `requests.Session` with `trust_env = False`
and `verify=<CA>`: requests lets `REQUESTS_CA_BUNDLE` silently override `verify`
otherwise (reference/teams.md §9).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import msal
import requests

from dataverse.errors import AuthError, InvalidIdentifier, InvalidInput
from dataverse.odata import parse_guid

GRAPH_SCOPE: Final = "https://graph.microsoft.com/.default"

# Hosts where msal's instance discovery (a call to login.microsoftonline.com) makes sense;
# any other authority host (a national cloud proxy, a local stand-in) is used as given.
_PUBLIC_CLOUD_HOSTS: Final = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
    }
)
_TENANT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,253}")
# msal itself treats a token with less than 5 minutes left as expired; renewing earlier than
# that would only hand us the cached token again.
DEFAULT_SKEW: Final = 300.0


def dataverse_scope(environment_url: str) -> str:
    """`<environment URL>/.default`, the scope of an app token for one environment."""
    url = httpx.URL(environment_url)
    if url.scheme != "https" or not url.host:
        msg = f"the environment URL must be https://host[:port]: {environment_url!r}"
        raise InvalidInput(msg)
    return f"{environment_url.rstrip('/')}/.default"


def normalize_authority(authority: str) -> str:
    """`https://<host>[:port]/<tenant>`, validated; no trailing slash."""
    url = httpx.URL(authority)
    segments = [s for s in url.path.split("/") if s]
    if url.scheme != "https" or not url.host or len(segments) != 1 or url.query:
        msg = f"the authority must look like https://<host>/<tenant>: {authority!r}"
        raise InvalidInput(msg)
    if not _TENANT.fullmatch(segments[0]):
        msg = f"not a tenant id or domain: {segments[0]!r}"
        raise InvalidIdentifier(msg)
    port = f":{url.port}" if url.port else ""
    return f"https://{url.host}{port}/{segments[0]}"


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops working. The value never appears in repr."""

    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch
    obtained_at: float

    def remaining(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class _MsalHttpClient:
    """msal's HttpClient interface over a requests.Session that trusts exactly one CA."""

    def __init__(self, ca_path: Path, timeout: float) -> None:
        session = requests.Session()
        session.trust_env = False  # ignore REQUESTS_CA_BUNDLE, proxies and .netrc
        session.verify = str(ca_path)
        self._session = session
        self._timeout = timeout

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.post(url, params=params, data=data, headers=headers, **kwargs)

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout)
        return self._session.get(url, params=params, headers=headers, **kwargs)

    def close(self) -> None:
        self._session.close()


def _fingerprint(credential: str | Mapping[str, str], ca_path: Path | None) -> str:
    digest = hashlib.sha256()
    if isinstance(credential, str):
        digest.update(credential.encode())
    else:
        for key in sorted(credential):
            digest.update(f"{key}\0{credential[key]}\0".encode())
    digest.update(str(ca_path).encode())
    return digest.hexdigest()


class EntraApp:
    """One confidential client (one msal app and token cache) for one authority and client id.

    Args:
        authority: `https://<host>/<tenant>`, e.g. `https://login.microsoftonline.com/<tenant>`.
        client_id: the app registration's client id.
        client_credential: the client secret, or msal's certificate dict.
        ca_path: a PEM file with the only CA to trust for the authority; None uses msal's
            default HTTP client and the system trust.
        timeout: seconds for each call to the authority.
        instance_discovery: None decides from the host (on for the public cloud only).
    """

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        client_credential: str | Mapping[str, str],
        ca_path: str | Path | None = None,
        timeout: float = 30.0,
        instance_discovery: bool | None = None,
    ) -> None:
        self.authority = normalize_authority(authority)
        self.client_id = str(parse_guid(client_id))
        if not client_credential:
            msg = "a client secret or certificate is required"
            raise InvalidInput(msg)
        self.ca_path = Path(ca_path) if ca_path is not None else None
        if self.ca_path is not None and not self.ca_path.is_file():
            msg = f"CA file not found: {self.ca_path}"
            raise InvalidInput(msg)
        host = httpx.URL(self.authority).host
        self.instance_discovery = (
            host in _PUBLIC_CLOUD_HOSTS if instance_discovery is None else instance_discovery
        )
        self._credential = client_credential
        self._timeout = timeout
        self.fingerprint = _fingerprint(client_credential, self.ca_path)
        self._build_lock = threading.Lock()
        self._msal: Any = None
        self._http: _MsalHttpClient | None = None
        self._client_providers: dict[tuple[str, ...], ClientCredentials] = {}

    def __repr__(self) -> str:
        return f"EntraApp(authority={self.authority!r}, client_id={self.client_id!r})"

    def _app(self) -> Any:
        # Built on first use, in a worker thread: msal fetches the authority's OpenID
        # configuration in its constructor.
        with self._build_lock:
            if self._msal is None:
                if self.ca_path is not None and self._http is None:
                    self._http = _MsalHttpClient(self.ca_path, self._timeout)
                self._msal = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    http_client=self._http,
                    timeout=self._timeout,
                    instance_discovery=self.instance_discovery,
                )
            return self._msal

    def _call(self, action: str, fn: Any) -> dict[str, Any]:
        try:
            result = fn(self._app())
        except (OSError, ValueError) as exc:
            # requests' errors are OSErrors; msal raises ValueError when the authority's
            # metadata cannot be read. Neither message carries the secret.
            raise AuthError(f"{action}_failed", f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(result, dict):
            raise AuthError(f"{action}_failed", "msal returned no result")
        return result

    async def acquire_for_client(self, scopes: Sequence[str]) -> AccessToken:
        """An app-only token (client credentials) for `scopes`."""
        wanted = list(scopes)
        result = await asyncio.to_thread(
            self._call, "client_credentials", lambda app: app.acquire_token_for_client(wanted)
        )
        return _token_from(result)

    async def acquire_on_behalf_of(
        self, user_assertion: str, scopes: Sequence[str]
    ) -> AccessToken:
        """A delegated token for the user whose token (`user_assertion`) called us."""
        if not user_assertion:
            msg = "an on-behalf-of request needs the user's token"
            raise InvalidInput(msg)
        wanted = list(scopes)
        result = await asyncio.to_thread(
            self._call,
            "on_behalf_of",
            lambda app: app.acquire_token_on_behalf_of(user_assertion, wanted),
        )
        return _token_from(result)

    def close(self) -> None:
        """Close the connections to the authority (the token cache stays usable)."""
        with self._build_lock:
            if self._http is not None:
                self._http.close()
            elif self._msal is not None:
                self._msal.http_client.close()

    def forget_client_tokens(self) -> None:
        """Drop msal's cached app-only tokens, so the next request asks Entra again."""
        with self._build_lock:
            if self._msal is not None:
                self._msal.remove_tokens_for_client()

    def client_credentials(self, scopes: Sequence[str]) -> ClientCredentials:
        """The shared app-only token provider for `scopes` (one per scope set)."""
        key = tuple(sorted(scopes))
        provider = self._client_providers.get(key)
        if provider is None:
            provider = self._client_providers[key] = ClientCredentials(self, key)
        return provider

    def on_behalf_of(self, user_assertion: str, scopes: Sequence[str]) -> OnBehalfOf:
        """A token provider acting as the user behind `user_assertion` (delegated mode)."""
        return OnBehalfOf(self, user_assertion, tuple(scopes))

    def dataverse_auth(self, environment_url: str) -> BearerAuth:
        """App-only `httpx.Auth` for one Dataverse environment."""
        return BearerAuth(self.client_credentials([dataverse_scope(environment_url)]))

    def graph_auth(self, scope: str = GRAPH_SCOPE) -> BearerAuth:
        """App-only `httpx.Auth` for Microsoft Graph."""
        return BearerAuth(self.client_credentials([scope]))


def _token_from(result: Mapping[str, Any]) -> AccessToken:
    value = result.get("access_token")
    if not isinstance(value, str) or not value:
        error = result.get("error")
        codes = result.get("error_codes")
        raise AuthError(
            error if isinstance(error, str) and error else "no_token",
            str(result.get("error_description") or ""),
            error_codes=tuple(c for c in codes if isinstance(c, int))
            if isinstance(codes, list)
            else (),
            correlation_id=str(result["correlation_id"]) if result.get("correlation_id") else None,
        )
    now = time.time()
    try:
        expires_in = float(result.get("expires_in", 0))
    except (TypeError, ValueError):
        expires_in = 0.0
    return AccessToken(value=value, expires_at=now + max(0.0, expires_in), obtained_at=now)


class EntraApps:
    """Hands out one `EntraApp` per (authority, client id), so all callers share its cache."""

    def __init__(self) -> None:
        self._apps: dict[tuple[str, str], EntraApp] = {}
        self._lock = threading.Lock()

    def get(
        self,
        *,
        authority: str,
        client_id: str,
        client_credential: str | Mapping[str, str],
        ca_path: str | Path | None = None,
        timeout: float = 30.0,
    ) -> EntraApp:
        key = (normalize_authority(authority).lower(), str(parse_guid(client_id)))
        wanted = _fingerprint(client_credential, Path(ca_path) if ca_path is not None else None)
        with self._lock:
            app = self._apps.get(key)
            if app is None:
                app = EntraApp(
                    authority=authority,
                    client_id=client_id,
                    client_credential=client_credential,
                    ca_path=ca_path,
                    timeout=timeout,
                )
                self._apps[key] = app
            elif app.fingerprint != wanted:
                msg = f"{app!r} already exists with a different credential or CA"
                raise InvalidInput(msg)
            return app


class TokenProvider(ABC):
    """Keeps one current token; renews it `skew` seconds before expiry (or at half-life).

    Concurrent callers that find the token stale wait for a single renewal.
    """

    def __init__(self, *, skew: float = DEFAULT_SKEW) -> None:
        self._skew = skew
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, token: AccessToken) -> bool:
        lifetime = token.expires_at - token.obtained_at
        # Short-lived tokens (tests, some proxies) would otherwise never count as fresh.
        margin = min(self._skew, lifetime / 2)
        return token.remaining() > margin

    async def token(self) -> AccessToken:
        current = self._token
        if current is not None and self._fresh(current):
            return current
        async with self._lock:
            current = self._token
            if current is not None and self._fresh(current):
                return current
            fresh = await self._acquire()
            self._token = fresh
            return fresh

    def invalidate(self, token: AccessToken) -> None:
        """The service refused `token`: forget it (once) so the next call renews it."""
        if self._token is not None and self._token.value == token.value:
            self._token = None
            self._forget()

    @abstractmethod
    async def _acquire(self) -> AccessToken: ...

    @abstractmethod
    def _forget(self) -> None:
        """Drop any cache below ours (msal's) as well."""


class ClientCredentials(TokenProvider):
    """App-only tokens (OAuth client credentials) for fixed scopes."""

    def __init__(self, app: EntraApp, scopes: Sequence[str], *, skew: float = DEFAULT_SKEW):
        super().__init__(skew=skew)
        self._app = app
        self.scopes = tuple(scopes)

    async def _acquire(self) -> AccessToken:
        return await self._app.acquire_for_client(self.scopes)

    def _forget(self) -> None:
        self._app.forget_client_tokens()


class OnBehalfOf(TokenProvider):
    """Delegated tokens for the user whose token called the bot (OAuth on-behalf-of)."""

    def __init__(
        self,
        app: EntraApp,
        user_assertion: str,
        scopes: Sequence[str],
        *,
        skew: float = DEFAULT_SKEW,
    ) -> None:
        super().__init__(skew=skew)
        if not user_assertion:
            msg = "an on-behalf-of provider needs the user's token"
            raise InvalidInput(msg)
        self._app = app
        self._assertion = user_assertion
        self.scopes = tuple(scopes)

    def __repr__(self) -> str:
        return f"OnBehalfOf({self._app!r}, scopes={self.scopes!r})"

    async def _acquire(self) -> AccessToken:
        return await self._app.acquire_on_behalf_of(self._assertion, self.scopes)

    def _forget(self) -> None:
        # msal keys on-behalf-of tokens by assertion and offers no way to drop one; a
        # refused token is renewed by msal once it nears expiry.
        return None


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer …` from a provider; on a 401 renews once and resends."""

    requires_request_body = True  # the body must be replayable for the resend

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        msg = "BearerAuth works with httpx.AsyncClient only"
        raise RuntimeError(msg)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.provider.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code == 401:
            self.provider.invalidate(token)
            renewed = await self.provider.token()
            if renewed.value != token.value:
                request.headers["Authorization"] = f"Bearer {renewed.value}"
                yield request
