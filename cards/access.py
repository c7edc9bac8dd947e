"""The permission-denied card: which rule of the permission model denied the request, what
the person lacks, who could do it instead, and a "Request approval" button with an optional
reason.

``cards/`` does not import ``permissions``, so the denial arrives as the plain values below;
their ids are those of ``permissions`` (``Rule.id``, ``Requirement`` fields), which lets the
card say them in the person's language. Ids the card does not know fall back to the English
text the dialog passes along.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    ButtonStyle,
    Card,
    Element,
    Mention,
    Tone,
    action_set,
    adaptive_card,
    ensure_fits,
    execute_action,
    fact_set,
    header,
    heading,
    md_escape,
    safe_text,
    text_block,
)
from cards.i18n import N_, Strings
from cards.labels import Operation, operation_label
from dataverse.models import EntraRoleTemplate

# --- the permission model's table (seed "Model izin"), by the ids permissions/table.py uses ---

_ROWS: Final[dict[str, str]] = {
    "online/exchange-online": N_("Customer engagement apps (online) with Exchange Online"),
    "online/exchange-onprem": N_("Customer engagement apps (online) with Exchange (on-premises)"),
    "onprem/exchange-online": N_("Customer Engagement (on-premises) with Exchange Online"),
    "onprem/exchange-onprem": N_("Customer Engagement (on-premises) with Exchange (on-premises)"),
}
_COLUMNS: Final[dict[str, str]] = {
    "ga+sa": N_("Global admin and System admin"),
    "ea+sa": N_("Exchange admin and System admin"),
    "dma+sa": N_("Delegated Mailbox Approver and System admin"),
    "sa": N_("System admin alone"),
    "service-admin": N_("Service admin"),
    "ea": N_("Exchange admin alone"),
    "ga": N_("Global admin alone"),
}
_VERDICTS: Final[dict[str, str]] = {
    "Yes": N_("Yes, can approve email"),
    "No": N_("No, cannot approve email"),
    "n/a": N_("n/a, not applicable"),
}
_FOOTNOTES: Final[dict[str, str]] = {
    "¹": N_("from version 9.2.22104.00170"),
    "²": N_("include the Exchange admin in your business process"),
}
_RULES: Final[dict[str, str]] = {
    "deny/unknown-action": N_("The permission model does not know this action"),
    "deny/missing-facts": N_("A fact the decision depends on is not known"),
    "deny/wrong-target": N_("The action needs another kind of target"),
    "approve/own-mailbox": N_("Approve your own mailbox"),
    "mailbox/read-write-all": N_("Mailbox Read and Write, business unit or wider"),
    "mailbox/read-write-own": N_("Mailbox Read and Write on your own mailbox"),
    "mailbox/read-all": N_("Mailbox Read, business unit or wider"),
    "mailbox/read-own": N_("Mailbox Read on your own mailbox"),
    "profile/create": N_("Create email server profiles"),
    "profile/write-all": N_("Change any email server profile"),
    "profile/write-own": N_("Change your own email server profile"),
    "organization/write": N_("Change organization email settings"),
    "delegated-approver/global-admin": N_(
        "Global admin assigns the Delegated Mailbox Approver role"
    ),
    "delegated-approver/exchange-admin": N_(
        "Exchange admin assigns the Delegated Mailbox Approver role"
    ),
    "delegated-approver/not-admin": N_(
        "Only Global or Exchange admins assign the Delegated Mailbox Approver role"
    ),
    "delegated-approver/team": N_("The Delegated Mailbox Approver role cannot be given to a team"),
    "delegated-approver/unavailable": N_(
        "The Delegated Mailbox Approver role is not available here"
    ),
}


@dataclass(frozen=True)
class RuleRef:
    """A rule of the permission model, as ``permissions.Rule`` names it.

    Attributes:
        id: the rule id: a table cell (``online/exchange-online/sa``) or a named rule
            (``approve/own-mailbox``).
        title: the English title, shown only when the card does not know ``id``.
        cell: for a table cell, the cell as the seed prints it (``No``, ``Yes¹``, ``n/a``).
    """

    id: str
    title: str
    cell: str | None = None


def rule_text(strings: Strings, rule: RuleRef) -> str:
    """The rule in the person's language; a table cell reads "row · column: verdict"."""
    row_id, _, column_id = rule.id.rpartition("/")
    if row_id in _ROWS and column_id in _COLUMNS:
        where = strings.gettext(
            "{row} · {column}",
            row=strings.gettext(_ROWS[row_id]),
            column=strings.gettext(_COLUMNS[column_id]),
        )
        if rule.cell is None:
            return where
        verdict_key = rule.cell.rstrip("¹²")
        marks = rule.cell[len(verdict_key) :]
        verdict = (
            strings.gettext(_VERDICTS[verdict_key])
            if verdict_key in _VERDICTS
            else md_escape(verdict_key)
        )
        notes = [strings.gettext(_FOOTNOTES[m]) for m in marks if m in _FOOTNOTES]
        text = strings.gettext("{where}: {verdict}", where=where, verdict=verdict)
        return text + "".join(f" ({note})" for note in notes)
    if rule.id in _RULES:
        return strings.gettext(_RULES[rule.id])
    return safe_text(rule.title, max_chars=200)


def alternative_text(strings: Strings, rule: RuleRef) -> str:
    """Who a rule lets do it: the table column for cells, the rule's title otherwise."""
    column_id = rule.id.rpartition("/")[2]
    if rule.id.rpartition("/")[0] in _ROWS and column_id in _COLUMNS:
        return strings.gettext(_COLUMNS[column_id])
    return rule_text(strings, rule)


# --- requirements ------------------------------------------------------------------------


class NeedKind(StrEnum):
    """The kinds of ``permissions.requirements.Requirement``."""

    ENTRA_ROLE = "entra-role"
    DATAVERSE_ROLE = "dataverse-role"
    PRIVILEGE = "privilege"
    VERSION = "version"
    DEPLOYMENT = "deployment"
    PERSON = "person"
    SELF_APPROVAL = "self-approval"
    OWN_RECORD = "own-record"
    USER_PRINCIPAL = "user-principal"
    KNOWN_FACT = "known-fact"
    SERVER_TYPE = "server-type"


@dataclass(frozen=True)
class Need:
    """One unmet requirement.

    Attributes:
        kind: which kind of requirement.
        name: what it is about: an Entra role template id, a Dataverse role name, a privilege
            name, the minimum version, ``online``/``onprem``, a self-approval condition number
            (``1``–``4``), a table logical name, a fact id or a servertype value.
        english: ``Requirement.describe()``, shown when the card cannot say it better.
        depth: a privilege's minimum depth (``user``, ``business_unit``, …).
        actual: what the environment has (the current version), if known.
        direct_only: a role that counts only when assigned directly, not through a team.
    """

    kind: NeedKind
    name: str = ""
    english: str = ""
    depth: str | None = None
    actual: str | None = None
    direct_only: bool = False


_ENTRA_ROLES: Final[dict[str, str]] = {
    EntraRoleTemplate.GLOBAL_ADMINISTRATOR: N_("Global Administrator"),
    EntraRoleTemplate.EXCHANGE_ADMINISTRATOR: N_("Exchange Administrator"),
    EntraRoleTemplate.DYNAMICS_365_ADMINISTRATOR: N_("Dynamics 365 Administrator"),
    EntraRoleTemplate.POWER_PLATFORM_ADMINISTRATOR: N_("Power Platform Administrator"),
}
_DATAVERSE_ROLES: Final[dict[str, str]] = {
    "System Administrator": N_("System Administrator"),
    "Delegated Mailbox Approver": N_("Delegated Mailbox Approver"),
}
_PRIVILEGES: Final[dict[str, str]] = {
    "prvApproveRejectEmailAddress": N_("Approve Email Addresses for Users or Queues"),
    "prvReadMailbox": N_("Read Mailbox"),
    "prvWriteMailbox": N_("Write Mailbox"),
    "prvCreateEmailServerProfile": N_("Create Email Server Profile"),
    "prvWriteEmailServerProfile": N_("Write Email Server Profile"),
    "prvWriteOrganization": N_("Write Organization"),
    "prvAssignRole": N_("Assign Role"),
}
_DEPTHS: Final[dict[str, str]] = {
    "user": N_("user"),
    "business_unit": N_("business unit"),
    "parent_child": N_("parent: child business units"),
    "organization": N_("organization"),
}
_SELF_APPROVAL: Final[dict[str, str]] = {
    "1": N_("Your user principal name matches the mailbox's email address"),
    "2": N_(
        "RequirePrivilegeToSelfApproveEmailAddress is disabled, or you have Approve Email "
        "Addresses for Users or Queues"
    ),
    "3": N_("At least user-level Write on the Mailbox table"),
    "4": N_("The mailbox is not a queue's mailbox"),
}
_FACTS: Final[dict[str, str]] = {
    "action": N_("what you asked for"),
    "actor.upn": N_("your user principal name"),
    "actor.entra_role_template_ids": N_("your Microsoft Entra roles"),
    "environment.deployment": N_("whether the environment is online or on-premises"),
    "environment.require_privilege_to_self_approve": N_(
        "the RequirePrivilegeToSelfApproveEmailAddress setting"
    ),
    "target": N_("what the request is about"),
    "target.email": N_("the mailbox's email address"),
    "target.servertype": N_("the server profile's type"),
}
_TABLES: Final[dict[str, str]] = {
    "mailbox": N_("You own the mailbox"),
    "emailserverprofile": N_("You own the email server profile"),
}


def _fallback(strings: Strings, need: Need) -> str:
    return safe_text(need.english or need.name or strings.gettext("Unknown requirement"))


def need_text(strings: Strings, need: Need) -> str:
    """One unmet requirement in the person's language."""
    kind = need.kind
    if kind is NeedKind.ENTRA_ROLE:
        role = _ENTRA_ROLES.get(need.name.lower())
        if role is None:
            return _fallback(strings, need)
        return strings.gettext("Microsoft Entra role: {role}", role=strings.gettext(role))
    if kind is NeedKind.DATAVERSE_ROLE:
        known = _DATAVERSE_ROLES.get(need.name)
        role = strings.gettext(known) if known else safe_text(need.name, max_chars=100)
        if need.direct_only:
            return strings.gettext(
                "Security role: {role}, assigned to you directly (not through a team)", role=role
            )
        return strings.gettext("Security role: {role}", role=role)
    if kind is NeedKind.PRIVILEGE:
        known = _PRIVILEGES.get(need.name)
        privilege = strings.gettext(known) if known else safe_text(need.name, max_chars=100)
        if need.depth is not None and need.depth != "user" and need.depth in _DEPTHS:
            return strings.gettext(
                "Privilege: {privilege}, at {depth} depth or wider",
                privilege=privilege,
                depth=strings.gettext(_DEPTHS[need.depth]),
            )
        return strings.gettext("Privilege: {privilege}", privilege=privilege)
    if kind is NeedKind.VERSION:
        version = safe_text(need.name, max_chars=40)
        if need.actual:
            return strings.gettext(
                "Environment version {minimum} or later (this one is {actual})",
                minimum=version,
                actual=safe_text(need.actual, max_chars=40),
            )
        return strings.gettext("Environment version {minimum} or later", minimum=version)
    if kind is NeedKind.DEPLOYMENT:
        if need.name == "online":
            return strings.gettext("An online environment")
        if need.name == "onprem":
            return strings.gettext("An on-premises environment")
        return _fallback(strings, need)
    if kind is NeedKind.PERSON:
        return strings.gettext("A person's account, not an application identity")
    if kind is NeedKind.SELF_APPROVAL and need.name in _SELF_APPROVAL:
        return strings.gettext(_SELF_APPROVAL[need.name])
    if kind is NeedKind.OWN_RECORD and need.name in _TABLES:
        return strings.gettext(_TABLES[need.name])
    if kind is NeedKind.USER_PRINCIPAL:
        return strings.gettext("A user, not a team (0x80090905)")
    if kind is NeedKind.KNOWN_FACT and need.name in _FACTS:
        return strings.gettext(
            "MailOps could not find out {fact}", fact=strings.gettext(_FACTS[need.name])
        )
    if kind is NeedKind.SERVER_TYPE:
        return strings.gettext(
            "A known email server profile type (type {value} is not known)",
            value=safe_text(need.name, max_chars=12),
        )
    return _fallback(strings, need)


# --- the card ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    """A denied request, as the permission decision explains it.

    Attributes:
        operation: what was asked.
        rule: the rule that denied it (for approvals, the table cell matching the roles).
        missing: what the person lacks on the nearest way to "allowed".
        alternatives: the rules under which someone else could do it (kinds of people).
        people: named people who could do it now, @mentioned on the card.
        target: the name of what it was about (a mailbox, a profile).
        target_id: the record id, carried by "Request approval".
        error_code: the Dataverse error the platform would give, if the seed names one.
        requestable: whether "Request approval" is offered.
    """

    operation: Operation
    rule: RuleRef
    missing: Sequence[Need] = ()
    alternatives: Sequence[RuleRef] = ()
    people: Sequence[Mention] = field(default=())
    target: str | None = None
    target_id: str | None = None
    error_code: str | None = None
    requestable: bool = False


MAX_LISTED: Final = 10


def permission_denied(strings: Strings, denial: Denial, *, environment: str) -> Card:
    """Why the request was denied: the rule (the table cell text for approvals), what is
    missing, who could do it instead, and — when it can be routed — "Request approval" with
    an optional reason the approvers will see.
    """
    subtitle = safe_text(denial.target, max_chars=200) if denial.target is not None else None
    body: list[Element] = [
        header(
            strings,
            strings.gettext(
                "You can't do this: {operation}",
                operation=operation_label(strings, denial.operation),
            ),
            environment=environment,
            subtitle=subtitle,
            badge_label=strings.gettext("Denied"),
            badge_tone=Tone.ATTENTION,
        ),
        heading(strings.gettext("Rule of the permission model"), separator=False),
        text_block(rule_text(strings, denial.rule)),
    ]
    if denial.error_code:
        body.append(
            fact_set([(strings.gettext("Error code"), safe_text(denial.error_code, max_chars=80))])
        )
    if denial.missing:
        body.append(heading(strings.gettext("What you are missing")))
        body.extend(
            text_block(f"- {need_text(strings, need)}", spacing="Small")
            for need in denial.missing[:MAX_LISTED]
        )
    who = [alternative_text(strings, rule) for rule in denial.alternatives[:MAX_LISTED]]
    people = list(denial.people[:MAX_LISTED])
    if who or people:
        body.append(heading(strings.gettext("Who could do it instead")))
        body.extend(text_block(f"- {line}", spacing="Small") for line in who)
        if people:
            body.append(
                text_block(
                    strings.gettext(
                        "Right now: {people}", people=", ".join(p.text for p in people)
                    )
                )
            )
    if denial.requestable:
        data: dict[str, str] = {verbs.OPERATION: denial.operation.value}
        if denial.target_id is not None:
            data[verbs.TARGET_ID] = denial.target_id
        body.append(
            {
                "type": "Input.Text",
                "id": verbs.REASON,
                "label": strings.gettext("Reason for the approvers (optional)"),
                "placeholder": strings.gettext("Why do you need this?"),
                "isMultiline": True,
                "maxLength": verbs.REASON_MAX_CHARS,
                "separator": True,
            }
        )
        body.append(
            action_set(
                [
                    execute_action(
                        strings.gettext("Request approval"),
                        verbs.APPROVAL_REQUEST,
                        data,
                        ButtonStyle.POSITIVE,
                    )
                ]
            )
        )
    return ensure_fits(
        adaptive_card(
            strings,
            body,
            mentions=people,
            fallback_text=strings.gettext("Denied"),
        )
    )
