"""The error tree of the `store` package.

Every exception this package raises on purpose is a `StoreError`::

    StoreError                      root: catch this to catch everything below
    ├── InvalidInput                a bad argument (naive datetime, empty silence reason …)
    ├── UnsupportedDatabase         a URL for a database or driver the store does not speak
    ├── NotFound                    no row with that id
    ├── IllegalTransition           a state machine move that the machine does not allow
    ├── StaleVersion                optimistic concurrency: the row changed since it was read
    ├── AlreadyUndone               an audit entry already has a successful undo
    ├── UnknownIncident             no incident with that id (a stale card)
    └── InvalidSilence              no reason, or a duration out of range

Lost races are not errors: `ApprovalRepository.decide` and the incident and lease methods
return who won; these exceptions are for moves that can never succeed.

`UnknownIncident` and `InvalidSilence` are raised by the monitor's incident engine, not by
this package: they are defined here because the dialogs catch them (the incident card's
buttons) and may not import the monitor. `monitor` re-exports both.
"""

from __future__ import annotations

from enum import StrEnum


class StoreError(Exception):
    """Base class of every error raised by the `store` package."""


class InvalidInput(StoreError, ValueError):
    """An argument to one of the store's methods is not acceptable; nothing was written."""


class UnsupportedDatabase(StoreError):
    """The URL names a database or driver that the store does not support."""

    def __init__(self, url: str) -> None:
        self.url = url
        msg = (
            f"unsupported database URL {url!r}: use sqlite+aiosqlite:///PATH or "
            "postgresql+asyncpg://USER@HOST:PORT/DB"
        )
        super().__init__(msg)


class NotFound(StoreError):
    """No row of `kind` has the identifier `ident`."""

    def __init__(self, kind: str, ident: object) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"no {kind} with id {ident}")


class IllegalTransition(StoreError):
    """The state machine does not allow a move from `current` (None: from anywhere) to `target`."""

    def __init__(self, machine: str, current: StrEnum | None, target: StrEnum) -> None:
        self.machine = machine
        self.current = current
        self.target = target
        source = "any state" if current is None else current.value
        super().__init__(f"{machine}: {source} → {target.value} is not allowed")


class StaleVersion(StoreError):
    """The row's version is not the one the caller read: someone else changed it."""

    def __init__(self, kind: str, ident: object, expected: int, actual: int) -> None:
        self.kind = kind
        self.ident = ident
        self.expected = expected
        self.actual = actual
        super().__init__(f"{kind} {ident} is at version {actual}, not {expected}")


class AlreadyUndone(StoreError):
    """The audit entry `entry_id` already has a successful undo (`undone_by`)."""

    def __init__(self, entry_id: int, undone_by: int | None) -> None:
        self.entry_id = entry_id
        self.undone_by = undone_by
        super().__init__(f"audit entry {entry_id} was already undone by entry {undone_by}")


class UnknownIncident(StoreError):
    """No incident has the id a card sent (a card from another database, or garbage)."""


class InvalidSilence(StoreError):
    """A silence without a reason, or with a duration that is not positive or too long."""
