"""The keys a caller's token is checked against, fetched off the event loop with a timeout.

botframework-connector 4.17.1 fetches a token issuer's OpenID metadata and its JWKS with
`requests.get`, without a timeout, inside a coroutine (`jwt_token_extractor._OpenIdMetadata`):
on the event loop. One token whose issuer's metadata endpoint hangs froze every
conversation until the endpoint answered (issue 12).

`SigningKeys` fetches them with aiohttp under one total timeout per fetch; the event loop
goes on serving everyone else meanwhile. It keeps them as botbuilder does: for a day, and
fetched again when a token names a key it does not hold, at most once an hour. One fetch
per metadata URL at a time: the requests that need it wait for the same fetch. A fetch that
failed is not tried again for `retry_after_s`; the requests that need those keys meanwhile
are answered at once (503, `SigningKeysUnavailable`), and keys fetched before go on being
used while their refresh fails. Trust is requests' own (`bot.outbound.ca_file`: the
`REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` file, else certifi), proxies come from the
environment, so nothing changes for a deployment that worked before.

Handing the keys to botbuilder touches one internal, in this module only: every token
check asks the class-level dict `JwtTokenExtractor.metadataCache` for the object of its
metadata URL and awaits `get(key_id)` on it, reading `.public_key` and `.endorsements` of
the answer. `install` replaces that dict with one that answers every URL from a
`SigningKeys`. botbuilder's validation itself (issuers, audience, endorsements, expiry) is
left as it is. The guard: only for botframework-connector 4.17.1 (the last release,
reference/teams.md §1) and only while the class still has what is replaced; otherwise it
warns and botbuilder fetches as before. `tests/bot/test_signing_keys.py` notices a change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

import aiohttp
from botframework.connector.auth import jwt_token_extractor
from jwt.algorithms import RSAAlgorithm

from bot.outbound import ca_file

log = logging.getLogger("mailops.signing_keys")

PATCHED_VERSION: Final = "4.17.1"
KEEP_S: Final = 24 * 3600.0  # botbuilder refreshes keys older than a day
UNKNOWN_KEY_REFRESH_S: Final = 3600.0  # and at most hourly for a key it does not hold
TIMEOUT_S: Final = 5.0  # well inside the 15 s Teams gives a bot to answer
RETRY_AFTER_S: Final = 30.0


class SigningKeysUnavailable(Exception):
    """The keys of a metadata URL cannot be had now: answer 503 and let the caller retry."""

    def __init__(self, url: str, reason: str, retry_after_s: float) -> None:
        super().__init__(f"signing keys of {url} unavailable: {reason}")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder reads of a key (`_OpenIdConfig`): the key and its endorsements."""

    public_key: Any
    endorsements: list[str]


@dataclass
class _Held:
    keys: dict[str, SigningKey] = field(default_factory=dict)
    fetched_at: float | None = None
    failed_at: float | None = None
    failure: str = ""
    fetching: asyncio.Task[dict[str, SigningKey]] | None = None


class SigningKeys:
    """The signing keys of every metadata URL asked for, fetched without blocking."""

    def __init__(
        self,
        *,
        timeout_s: float = TIMEOUT_S,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._held: dict[str, _Held] = {}

    async def key(self, url: str, key_id: str | None) -> SigningKey:
        """The key `key_id` published at the metadata `url`.

        Raises `SigningKeysUnavailable` when the keys cannot be fetched now, and
        `PermissionError` (a 401) when they were fetched and do not have that key.
        """
        held = self._held.setdefault(url, _Held())
        now = self._clock()
        age = None if held.fetched_at is None else now - held.fetched_at
        known = key_id is not None and key_id in held.keys
        if age is None or age >= KEEP_S or (not known and age >= UNKNOWN_KEY_REFRESH_S):
            try:
                await self._refresh(url, held)
            except SigningKeysUnavailable:
                if not known:
                    raise
                log.warning("using the keys of %s fetched before: %s", url, held.failure)
        found = held.keys.get(key_id) if key_id is not None else None
        if found is None:
            msg = "the token's signing key is not among its issuer's keys"
            raise PermissionError(msg)
        return found

    async def _refresh(self, url: str, held: _Held) -> None:
        if held.failed_at is not None:
            wait = held.failed_at + self.retry_after_s - self._clock()
            if wait > 0:
                raise SigningKeysUnavailable(url, held.failure, wait)
        if held.fetching is None:
            held.fetching = asyncio.create_task(self._fetch(url))
            held.fetching.add_done_callback(lambda task: self._fetched(url, held, task))
        # shielded: a caller that goes away does not cancel the fetch the others wait for
        try:
            await asyncio.shield(held.fetching)
        except Exception as exc:  # whatever the fetch met, the keys are not there
            raise SigningKeysUnavailable(
                url, _failure(exc, self.timeout_s), self.retry_after_s
            ) from exc

    def _fetched(self, url: str, held: _Held, task: asyncio.Task[dict[str, SigningKey]]) -> None:
        held.fetching = None
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            held.keys = task.result()
            held.fetched_at, held.failed_at = self._clock(), None
            return
        held.failed_at = self._clock()
        held.failure = _failure(error, self.timeout_s)
        log.warning("cannot fetch the signing keys of %s: %s", url, held.failure)

    async def _fetch(self, url: str) -> dict[str, SigningKey]:
        tls = ssl.create_default_context(cafile=ca_file(None))
        async with asyncio.timeout(self.timeout_s):
            connector = aiohttp.TCPConnector(ssl=tls, enable_cleanup_closed=True)
            async with aiohttp.ClientSession(connector=connector, trust_env=True) as session:
                openid = await _json(session, url)
                jwks_uri = openid.get("jwks_uri")
                if not isinstance(jwks_uri, str):
                    msg = f"{url} names no jwks_uri"
                    raise ValueError(msg)
                return _keys_of(await _json(session, jwks_uri))


def _failure(error: BaseException, timeout_s: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    return f"{type(error).__name__}: {error}"


async def _json(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url, raise_for_status=True) as answer:
        found = json.loads(await answer.read())
    if not isinstance(found, dict):
        msg = f"{url} did not answer a JSON object"
        raise ValueError(msg)
    return found


def _keys_of(jwks: dict[str, Any]) -> dict[str, SigningKey]:
    """The RSA keys of a JWKS by key id; others (and broken ones) are left out, as a token
    naming them fails anyway."""
    keys: dict[str, SigningKey] = {}
    for jwk in jwks.get("keys") or ():
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        try:
            public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
        except Exception:  # PyJWT raises several types for a key it cannot read
            log.info("signing key %s is not an RSA key PyJWT reads; left out", jwk["kid"])
            continue
        endorsements = jwk.get("endorsements")
        keys[jwk["kid"]] = SigningKey(
            public_key,
            [e for e in endorsements if isinstance(e, str)]
            if isinstance(endorsements, list)
            else [],
        )
    return keys


class _UrlKeys:
    """What botbuilder keeps per metadata URL (`_OpenIdMetadata`), answered by `SigningKeys`."""

    def __init__(self, keys: SigningKeys, url: str) -> None:
        self._keys = keys
        self.url = url

    async def get(self, key_id: str | None) -> SigningKey:
        return await self._keys.key(self.url, key_id)


class _KeysByUrl(dict[str, _UrlKeys]):
    """`JwtTokenExtractor.metadataCache`, answering every metadata URL from one `SigningKeys`."""

    def __init__(self, keys: SigningKeys) -> None:
        super().__init__()
        self.source = keys

    def get(self, url: str, default: object = None) -> _UrlKeys:
        found = super().get(url)
        if found is None:
            found = self[url] = _UrlKeys(self.source, url)
        return found


def patchable() -> str | None:
    """Why `install` cannot apply here, or None when it can."""
    version = metadata.version("botframework-connector")
    if version != PATCHED_VERSION:
        return f"botframework-connector is {version}, not {PATCHED_VERSION}"
    extractor = jwt_token_extractor.JwtTokenExtractor
    if not isinstance(getattr(extractor, "metadataCache", None), dict):
        return "JwtTokenExtractor.metadataCache is no longer a dict"
    if not asyncio.iscoroutinefunction(getattr(jwt_token_extractor._OpenIdMetadata, "get", None)):
        return "_OpenIdMetadata.get is no longer a coroutine"
    return None


def install(keys: SigningKeys) -> bool:
    """Make botbuilder's token checks take their keys from `keys` (process-wide: the last
    adapter built wins); False, with a warning, where botbuilder has changed."""
    why_not = patchable()
    if why_not is not None:
        log.warning(
            "signing keys are fetched by botbuilder itself, on the event loop without a "
            "timeout: %s",
            why_not,
        )
        return False
    jwt_token_extractor.JwtTokenExtractor.metadataCache = _KeysByUrl(keys)
    return True
