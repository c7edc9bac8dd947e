"""The answer of :func:`permissions.decide`: allowed or not, why, what is missing, and who
else could do it. The typed fields are primary; :meth:`Decision.explain` is an English
rendering for logs and as a fallback until the bot localizes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from permissions.actions import Action
from permissions.requirements import Requirement
from permissions.rules import Rule
from permissions.table import Cell, Row


class Flag(StrEnum):
    """Extra facts about a decision that change what the bot should do or say."""

    ALREADY_APPROVED = "already-approved"
    """The address is approved already: approving again is a no-op, do not send it (external
    apps may approve only a row that "isn't already approved", reference §4.2)."""
    ALREADY_REJECTED = "already-rejected"
    """The address is rejected already: rejecting again is a no-op."""
    SELF_APPROVAL = "self-approval"
    """Allowed only through the own-mailbox rule, not through the table."""
    TEST_ENABLE_APPROVES_ADDRESS = "test-enable-approves-address"
    """The actor meets the own-mailbox conditions, so Test & Enable also approves the
    address (seed, "Setujui kotak pesan pengguna Anda sendiri")."""
    OWN_MAILBOXES_ONLY = "own-mailboxes-only"
    """User-depth read: a listing shows only the actor's own mailboxes."""
    INCLUDE_EXCHANGE_ADMIN = "include-exchange-admin"
    """Footnote ²: include the Exchange admin in the business process."""
    NOT_EXCHANGE = "not-exchange"
    """POP3/SMTP or IMAP mailbox: judged by the on-premises rows' System-admin rule."""


@dataclass(frozen=True)
class PathCheck:
    """One way to be allowed, and which of its requirements the actor does not meet."""

    rule: Rule
    label: str
    requirements: tuple[Requirement, ...]
    missing: tuple[Requirement, ...]

    @property
    def satisfied(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Alternative:
    """A kind of person who could do the action here: the person-level requirements of a
    path that nothing about the environment or target blocks."""

    rule: Rule
    label: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Decision:
    """The outcome of a permission check.

    Attributes:
        action: what was asked; ``None`` for an action the model does not know.
        allowed: the only field that grants anything.
        rule: the rule that decided: the satisfied path when allowed; when denied, the table
            cell matching the actor's roles (table actions) or the blocking rule.
        missing: the unmet requirements of the nearest path to "allowed".
        paths: every path considered, with what each lacks.
        alternatives: the kinds of people who could do it instead.
        flags: see :class:`Flag`.
        error_code: the Dataverse error the platform would give, when the seed names one.
        row: the table row used, for table actions.
        cell: the table cell behind ``rule``, when it is one.
    """

    action: Action | None
    allowed: bool
    rule: Rule
    missing: tuple[Requirement, ...] = ()
    paths: tuple[PathCheck, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    flags: frozenset[Flag] = frozenset()
    error_code: str | None = None
    row: Row | None = None
    cell: Cell | None = None

    def explain(self) -> str:
        """A short English explanation."""
        what = self.action.value if self.action is not None else "unknown action"
        verdict = "Allowed" if self.allowed else "Denied"
        parts = [f"{verdict}: {what}. Rule {self.rule.id}: {self.rule.description}"]
        if self.missing:
            parts.append("Missing: " + "; ".join(r.describe() for r in self.missing) + ".")
        if self.error_code is not None:
            parts.append(f"Dataverse would answer {self.error_code}.")
        if not self.allowed and self.alternatives:
            who = "; ".join(a.label for a in self.alternatives)
            parts.append(f"Who can: {who}.")
        parts.extend(_FLAG_TEXT[flag] for flag in sorted(self.flags))
        return " ".join(parts)


_FLAG_TEXT: dict[Flag, str] = {
    Flag.ALREADY_APPROVED: "The address is already approved; nothing to do.",
    Flag.ALREADY_REJECTED: "The address is already rejected; nothing to do.",
    Flag.SELF_APPROVAL: "Allowed as approval of your own mailbox.",
    Flag.TEST_ENABLE_APPROVES_ADDRESS: "Test & Enable will also approve your own address.",
    Flag.OWN_MAILBOXES_ONLY: "You can see only the mailboxes you own.",
    Flag.INCLUDE_EXCHANGE_ADMIN: "Microsoft recommends including the Exchange admin.",
    Flag.NOT_EXCHANGE: "This mailbox is not on Exchange; the System-admin rule applies.",
}
