"""What the monitor raises.

MonitorError
├── NoConversation            the audience has no Teams conversation yet
└── SilenceNeedsConfirmation  the silence covers more than one profile; ask first

The incident engine also raises `UnknownIncident` (no incident with that id: a stale card)
and `InvalidSilence` (no reason, or a duration out of range). They are `StoreError`s,
defined in `store.errors` so that the dialogs can catch them without importing the monitor,
and re-exported here.
"""

from __future__ import annotations

from store import InvalidSilence, UnknownIncident

__all__ = [
    "InvalidSilence",
    "MonitorError",
    "NoConversation",
    "SilenceNeedsConfirmation",
    "UnknownIncident",
]


class MonitorError(Exception):
    """The root of the monitor's errors."""


class NoConversation(MonitorError):
    """The audience has no conversation yet (nobody said `set on-call channel here`)."""


class SilenceNeedsConfirmation(MonitorError):
    """The silence would cover more than one server profile's mailboxes (an error code
    everywhere, or every environment); repeat the request with `confirmed=True`."""
