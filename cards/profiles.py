"""The email server profile card."""

from __future__ import annotations

from collections.abc import Sequence, Set
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    Action,
    ButtonStyle,
    Card,
    Element,
    Tone,
    action_set,
    adaptive_card,
    ensure_fits,
    execute_action,
    fact_set,
    header,
    heading,
    more_line,
    safe_text,
)
from cards.i18n import Strings
from cards.labels import OptionSet, option_label, server_type_label
from cards.mailboxes import alert_row, latest_first
from dataverse.models import Alert, RowState, ServerProfile

MAX_ALERTS: Final = 5


class ProfileAction(StrEnum):
    """Buttons the profile card can offer."""

    TEST_MAILBOXES = "test-mailboxes"
    MAKE_DEFAULT = "make-default"


def _location(strings: Strings, profile: ServerProfile) -> str:
    # A location that is set is where the profile connects, whatever `useautodiscover` says:
    # the seed's China script sets only `defaultserverlocation` on an Exchange Online profile
    # that finds its server automatically, and the profile then goes to that EWS endpoint.
    location = (
        profile.default_server_location
        or profile.incoming_server_location
        or profile.outgoing_server_location
    )
    if location:
        return safe_text(location, max_chars=200)
    if profile.use_autodiscover:
        return strings.gettext("Found automatically (Autodiscover)")
    return strings.gettext("Not set")


def _tenant(strings: Strings, profile: ServerProfile) -> str:
    if profile.use_default_tenant_id or (
        profile.use_default_tenant_id is None and not profile.exchange_online_tenant_id
    ):
        return strings.gettext("The same tenant as this environment")
    return safe_text(profile.exchange_online_tenant_id or "", max_chars=40)


def profile_view(
    strings: Strings,
    profile: ServerProfile,
    *,
    environment: str,
    is_default: bool,
    mailbox_count: int | None = None,
    alerts: Sequence[Alert] = (),
    allowed: Set[ProfileAction] = frozenset(),
) -> Card:
    """One email server profile: type, authentication, location, tenant, whether it is the
    default for new mailboxes, how many mailboxes use it, its latest alerts, and the buttons
    the caller may use.
    """
    active = profile.state is None or profile.state == RowState.ACTIVE
    name = safe_text(profile.name or str(profile.id), max_chars=100)
    facts: list[tuple[str, str]] = [
        (
            strings.gettext("Email server type"),
            server_type_label(strings, profile.server_type, profile.server_type_name),
        )
    ]
    incoming = profile.incoming_credential_retrieval
    outgoing = profile.outgoing_credential_retrieval
    if incoming == outgoing or outgoing is None:
        facts.append(
            (
                strings.gettext("Authentication"),
                option_label(strings, OptionSet.CREDENTIALS, incoming),
            )
        )
    else:
        facts.append(
            (
                strings.gettext("Authentication, incoming"),
                option_label(strings, OptionSet.CREDENTIALS, incoming),
            )
        )
        facts.append(
            (
                strings.gettext("Authentication, outgoing"),
                option_label(strings, OptionSet.CREDENTIALS, outgoing),
            )
        )
    facts += [
        (strings.gettext("Server location"), _location(strings, profile)),
        (strings.gettext("Exchange Online tenant"), _tenant(strings, profile)),
        (strings.gettext("Default profile for new mailboxes"), strings.yes_no(is_default)),
    ]
    if mailbox_count is not None:
        facts.append((strings.gettext("Mailboxes using it"), strings.number(mailbox_count)))

    body: list[Element] = [
        header(
            strings,
            name,
            environment=environment,
            subtitle=strings.gettext("Email server profile"),
            badge_label=strings.gettext("Active") if active else strings.gettext("Inactive"),
            badge_tone=Tone.GOOD if active else Tone.DEFAULT,
        ),
        fact_set(facts),
    ]
    ordered = latest_first(alerts)
    if ordered:
        body.append(heading(strings.gettext("Latest alerts")))
        body.extend(alert_row(strings, alert) for alert in ordered[:MAX_ALERTS])
        if len(ordered) > MAX_ALERTS:
            body.append(more_line(strings, len(ordered) - MAX_ALERTS))

    data = {verbs.PROFILE_ID: str(profile.id)}
    buttons: list[Action] = []
    if ProfileAction.TEST_MAILBOXES in allowed:
        buttons.append(
            execute_action(
                strings.gettext("Test & Enable all its mailboxes"),
                verbs.PROFILE_TEST_MAILBOXES,
                data,
            )
        )
    if ProfileAction.MAKE_DEFAULT in allowed and not is_default:
        buttons.append(
            execute_action(
                strings.gettext("Make it the default"),
                verbs.PROFILE_MAKE_DEFAULT,
                data,
                ButtonStyle.POSITIVE,
            )
        )
    if buttons:
        body.append(action_set(buttons, separator=True))
    return ensure_fits(adaptive_card(strings, body, fallback_text=name))
