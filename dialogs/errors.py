"""Why a dialog stops early; the router turns each into the card that explains it.

DialogError
├── UnknownEnvironmentError   "… in staging" names no configured environment
├── NothingMatchedError       a name matched nothing ("did you mean …")
├── AmbiguousError            a name matched several things (a choice card)
├── DeniedError               the permission model said no (the rule and what is missing)
├── StaleCardError            a clicked card no longer matches the record or the caller
└── NoIdentityError           the activity carries no Entra object id to check
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from permissions import Action, Decision


class DialogError(Exception):
    """A request that ends with an explanation instead of a result."""


class UnknownEnvironmentError(DialogError):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"no environment named {name!r}")
        self.name = name
        self.known = tuple(known)


@dataclass(frozen=True)
class Match:
    """Something a typed name may mean: a person's, a queue's or a lone mailbox."""

    kind: str  # person | queue | mailbox | profile
    id: str  # the mailbox id (or the profile id)
    label: str
    detail: str | None = None


class NothingMatchedError(DialogError):
    def __init__(
        self, text: str, suggestions: Sequence[str] = (), *, command_text: str = ""
    ) -> None:
        super().__init__(f"nothing matches {text!r}")
        self.text = text
        self.suggestions = tuple(suggestions)  # names close to `text`
        self.command_text = command_text  # the request, to offer it again with a suggestion


class AmbiguousError(DialogError):
    def __init__(self, text: str, matches: Sequence[Match], command_text: str) -> None:
        super().__init__(f"{len(matches)} matches for {text!r}")
        self.text = text
        self.matches = tuple(matches)
        self.command_text = command_text  # re-run with the picked id in place of the name


class DeniedError(DialogError):
    def __init__(
        self,
        action: Action,
        decision: Decision,
        *,
        target: str | None = None,
        target_id: str | None = None,
        requestable: bool = False,
    ) -> None:
        super().__init__(f"{action.value} denied: {decision.rule.id}")
        self.action = action
        self.decision = decision
        self.target = target
        self.target_id = target_id
        self.requestable = requestable


class StaleCardError(DialogError):
    """A card's payload does not fit what it claims to be about (tampered or outdated)."""


class NoIdentityError(DialogError):
    """Without the caller's Entra object id nothing can be checked, so nothing is done."""
