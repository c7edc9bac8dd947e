"""The organization's email settings card (Settings > Email > Email settings)."""

from __future__ import annotations

from cards.common import (
    Card,
    Element,
    adaptive_card,
    ensure_fits,
    fact_set,
    header,
    heading,
    safe_text,
)
from cards.i18n import Strings
from cards.labels import OptionSet, option_label
from dataverse.models import OrgEmailSettings, ServerProfile


def org_email_settings(
    strings: Strings,
    settings: OrgEmailSettings,
    *,
    environment: str,
    default_profile: ServerProfile | None = None,
) -> Card:
    """The environment's email settings: the defaults new users and queues get (server
    profile and delivery methods), the approval requirement, the connection channel, and
    which alerts are generated.

    Args:
        default_profile: the row ``settings.default_profile_id`` points at, for its name.
    """
    defaults = settings.default_email_settings
    if default_profile is not None:
        profile = safe_text(default_profile.name or str(default_profile.id), max_chars=100)
    elif settings.default_profile_id is not None:
        profile = strings.gettext("Unknown profile")
    else:
        profile = strings.gettext("Not set")
    body: list[Element] = [
        header(strings, strings.gettext("Email settings"), environment=environment),
        heading(strings.gettext("Default email processing and synchronization"), separator=False),
        fact_set(
            [
                (strings.gettext("Server profile"), profile),
                (
                    strings.gettext("Incoming email"),
                    option_label(
                        strings,
                        OptionSet.INCOMING_DELIVERY,
                        defaults.incoming if defaults else None,
                    ),
                ),
                (
                    strings.gettext("Outgoing email"),
                    option_label(
                        strings,
                        OptionSet.OUTGOING_DELIVERY,
                        defaults.outgoing if defaults else None,
                    ),
                ),
                (
                    strings.gettext("Appointments, contacts, and tasks"),
                    option_label(
                        strings, OptionSet.ACT_DELIVERY, defaults.act if defaults else None
                    ),
                ),
                (
                    strings.gettext("Email connection channel"),
                    option_label(
                        strings, OptionSet.CONNECTION_CHANNEL, settings.email_connection_channel
                    ),
                ),
            ]
        ),
        heading(strings.gettext("Security and permissions")),
        fact_set(
            [
                (
                    strings.gettext("Process emails only for approved users"),
                    strings.yes_no(settings.require_approval_for_user_email),
                ),
                (
                    strings.gettext("Process emails only for approved queues"),
                    strings.yes_no(settings.require_approval_for_queue_email),
                ),
                (
                    strings.gettext("Privilege required to approve your own email address"),
                    strings.yes_no(settings.require_privilege_to_self_approve),
                ),
            ]
        ),
        heading(strings.gettext("Alerts")),
        fact_set(
            [
                (
                    strings.gettext("Alerts for errors"),
                    strings.yes_no(settings.generate_alerts_for_errors),
                ),
                (
                    strings.gettext("Alerts for warnings"),
                    strings.yes_no(settings.generate_alerts_for_warnings),
                ),
                (
                    strings.gettext("Alerts for information"),
                    strings.yes_no(settings.generate_alerts_for_information),
                ),
                (
                    strings.gettext("Tell mailbox owners about server profile alerts"),
                    strings.yes_no(settings.notify_owner_of_profile_alerts),
                ),
            ]
        ),
    ]
    return ensure_fits(
        adaptive_card(strings, body, fallback_text=strings.gettext("Email settings"))
    )
