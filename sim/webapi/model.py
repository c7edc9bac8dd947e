"""The Web API face's own request and response objects.

A call reaches the handlers as a `DvRequest` whether it came over HTTP or as one part of a
`$batch`, so both paths share every rule. Handlers answer with a `DvResponse`, or raise a
`DataverseFault` that becomes the documented error body.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from multidict import CIMultiDict

from sim import rules
from sim.context import Sim
from sim.errors import DataverseFault
from sim.webapi.odata import Preferences, parse_prefer
from sim.webapi.paging import Pager
from sim.webapi.throttle import ServiceProtection

log = logging.getLogger(__name__)

API_PREFIX: Final = "/api/data/v9.2/"
JSON_TYPE: Final = "application/json; odata.metadata=minimal"
_EXTRA_KEY: Final = "webapi"


@dataclass
class WebApi:
    """Per-sim state of the face: the paging secret and the service protection counters."""

    pager: Pager
    protection: ServiceProtection


def service(sim: Sim) -> WebApi:
    """The face's state for `sim`, made on first use and reset with the sim."""
    api = sim.extras.get(_EXTRA_KEY)
    if isinstance(api, WebApi):
        return api
    api = WebApi(
        pager=Pager(secrets.token_bytes(32)),
        protection=ServiceProtection(lambda: sim.limits),
    )
    sim.extras[_EXTRA_KEY] = api
    sim.extras.setdefault("reset_hooks", []).append(api.protection.reset)
    return api


class Transaction:
    """The undo log of a change set: all of its operations apply, or none (reference §6.5).

    Side effects that must not happen for a rolled-back change (`rules.after_update`, e.g.
    queueing Test & Enable) wait until the change set commits.
    """

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self._after: list[Callable[[], None]] = []

    def on_rollback(self, fn: Callable[[], None]) -> None:
        self._undo.append(fn)

    def on_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)

    def rollback(self) -> None:
        for fn in reversed(self._undo):
            fn()
        self._undo.clear()
        self._after.clear()

    def commit(self) -> None:
        """Keep the changes and run the deferred side effects; the changes are stored, so a
        failing side effect is logged, not answered."""
        after, self._after = self._after, []
        self._undo.clear()
        for fn in after:
            try:
                fn()
            except Exception:
                log.exception("a side effect of a committed change set failed")


@dataclass
class DvRequest:
    sim: Sim
    api: WebApi
    method: str
    path: str  # percent-decoded, relative to /api/data/v9.2/
    params: list[tuple[str, str]]  # decoded query string items, in order
    headers: CIMultiDict[str]
    body: bytes
    caller: rules.EffectiveCaller
    txn: Transaction | None = None
    content_ids: dict[str, str] = field(default_factory=dict)  # "$1" -> entity URL
    prefs: Preferences = field(default_factory=Preferences)

    def __post_init__(self) -> None:
        self.prefs = parse_prefer(self.headers.getall("Prefer", []))

    @property
    def root(self) -> str:
        """The service root, e.g. https://127.0.0.1:8765/api/data/v9.2/."""
        return f"{self.sim.origin}{API_PREFIX}"

    @property
    def url(self) -> str:
        return f"{self.root}{self.path}"

    def param_lists(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for k, v in self.params:
            grouped.setdefault(k, []).append(v)
        return grouped

    @property
    def user_id(self) -> str:
        """The effective caller's systemuserid."""
        return str(self.caller.user.get("systemuserid") or "")

    @property
    def real_user_id(self) -> str:
        return str(self.caller.real.get("systemuserid") or "")

    def after_write(self, fn: Callable[[], None]) -> None:
        """Run `fn` now, or when the change set commits."""
        if self.txn is None:
            fn()
        else:
            self.txn.on_commit(fn)

    def undo(self, fn: Callable[[], None]) -> None:
        if self.txn is not None:
            self.txn.on_rollback(fn)


@dataclass
class DvResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    entity_url: str | None = None  # what `$<Content-ID>` refers to after a create


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> DvResponse:
    h = {"Content-Type": JSON_TYPE, "OData-Version": "4.0"}
    if headers:
        h.update(headers)
    return DvResponse(status, h, json_bytes(obj))


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> DvResponse:
    h = {"OData-Version": "4.0"}
    if headers:
        h.update(headers)
    return DvResponse(status, h)


def fault_response(fault: DataverseFault) -> DvResponse:
    return json_response(fault.status, fault.body(), fault.headers)
