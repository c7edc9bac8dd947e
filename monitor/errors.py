"""What the monitor raises.

MonitorError
├── NoConversation            the audience has no Teams conversation yet
├── UnknownIncident           no incident with that id (a stale card)
├── InvalidSilence            no reason, or a duration that is not positive
└── SilenceNeedsConfirmation  the silence covers more than one profile; ask first
"""

from __future__ import annotations


class MonitorError(Exception):
    """The root of the monitor's errors."""


class NoConversation(MonitorError):
    """The audience has no conversation yet (nobody said `set on-call channel here`)."""


class UnknownIncident(MonitorError):
    """No incident has the id a card sent (a card from another database, or garbage)."""


class InvalidSilence(MonitorError):
    """A silence without a reason, or with a duration that is not positive."""


class SilenceNeedsConfirmation(MonitorError):
    """The silence would cover more than one server profile's mailboxes (an error code
    everywhere, or every environment); repeat the request with `confirmed=True`."""
