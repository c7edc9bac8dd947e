"""The routed-approval and audit cards pass the Adaptive Card 1.5 schema and the Teams
rules (tests/cards/checks.py) in both languages, and say what they must."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest

from cards import verbs
from cards.approvals import (
    RequestState,
    RequestView,
    approval_request,
    approvals_unavailable,
    may_do_it_yourself,
    my_requests,
    nobody_to_ask,
    open_requests_section,
    own_request,
    request_outcome,
    request_sent,
    requester_notice,
)
from cards.audit import (
    AuditLine,
    AuditResultKind,
    FieldChange,
    TargetKind,
    UndoOutcome,
    audit_log,
    audit_not_allowed,
    undo_result,
)
from cards.common import Card, Mention, adaptive_card, card_size
from cards.i18n import Strings, translator
from cards.labels import Field, Operation
from cards.results import Outcome, Reason
from tests.cards import checks

NOW: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PENDING: Final = RequestView(
    id="6a1c2b3d-0000-4000-8000-000000000001",
    operation=Operation.APPROVE_EMAIL,
    target="Alice Anders",
    email="alice@contoso.com",
    requester="Sam Sysadmin",
    reason="Starts on *Monday*",
    environment="prod",
    state=RequestState.PENDING,
    created_at=NOW,
    expires_at=NOW + timedelta(hours=24),
)
APPROVED: Final = replace(
    PENDING,
    state=RequestState.APPROVED,
    decided_by="Dana Delegate",
    decided_at=NOW + timedelta(minutes=5),
    outcome=Outcome.OK,
)
DANA: Final = Mention("Dana Delegate", "aa000000-0000-4000-8000-000000000003")
LINE: Final = AuditLine(
    id=7,
    at=NOW,
    actor="Dana Delegate",
    action="approve-email",
    result=AuditResultKind.OK,
    target="Alice Anders",
    on_behalf_of="Sam Sysadmin",
    changes=[FieldChange(Field.APPROVAL, 2, 1)],
    correlation_id="activity-1",
    request_id=PENDING.id,
)

# Changes to something other than a mailbox: named with their kind, values by their labels.
_BY_EDDIE: Final = AuditLine(
    id=9, at=NOW, actor="Eddie Exchange", action="", result=AuditResultKind.OK
)
OTHER_TARGETS: Final = [
    replace(
        _BY_EDDIE,
        action="remove-approval-requirement",
        target="Contoso (prod)",
        target_kind=TargetKind.ORGANIZATION,
        changes=[FieldChange(Field.REQUIRE_APPROVAL_USERS, True, False)],
    ),
    replace(
        _BY_EDDIE,
        id=10,
        action="create-server-profile",
        target="Contoso EXO",
        target_kind=TargetKind.PROFILE,
        changes=[
            FieldChange(Field.PROFILE_NAME, None, "Contoso EXO"),
            FieldChange(Field.SERVER_TYPE, None, 0),
            FieldChange(Field.INCOMING_CREDENTIALS, None, 2),
        ],
    ),
    replace(
        _BY_EDDIE,
        id=11,
        action="assign-delegated-mailbox-approver",
        target="Sam Sysadmin",
        target_kind=TargetKind.USER,
        changes=[FieldChange(Field.DELEGATED_APPROVER_ROLE, False, True)],
    ),
    replace(
        _BY_EDDIE,
        id=12,
        action="assign-delegated-mailbox-approver",
        result=AuditResultKind.DENIED,
        target="Mailbox Operations",
        target_kind=TargetKind.TEAM,
        detail="rule delegated-approver/not-for-teams",
    ),
]


def _section(strings: Strings) -> Card:
    return adaptive_card(strings, open_requests_section(strings, [PENDING]))


BUILDERS: Final[dict[str, Callable[[Strings], Card]]] = {
    "request": lambda s: approval_request(s, PENDING, refresh_user_ids=["29:dana"]),
    "request_channel": lambda s: approval_request(s, PENDING, approvers=[DANA]),
    "reminder": lambda s: approval_request(s, PENDING, reminder=True),
    "request_readonly": lambda s: approval_request(s, PENDING, buttons=False),
    "sent": lambda s: request_sent(s, PENDING, approvers=["Dana Delegate"], channel=True),
    "already": lambda s: request_sent(s, PENDING, approvers=[], already=True),
    "approved": lambda s: request_outcome(s, APPROVED),
    "approved_failed": lambda s: request_outcome(
        s,
        replace(APPROVED, outcome=Outcome.FAILED, outcome_reason=Reason.DENIED, outcome_code="x"),
    ),
    "rejected": lambda s: request_outcome(
        s, replace(APPROVED, state=RequestState.REJECTED, outcome=None)
    ),
    "expired": lambda s: request_outcome(s, replace(PENDING, state=RequestState.EXPIRED)),
    "failed": lambda s: requester_notice(s, replace(PENDING, state=RequestState.FAILED)),
    "notice": lambda s: requester_notice(s, APPROVED),
    "nobody": lambda s: nobody_to_ask(s, Operation.APPROVE_EMAIL, "Alice", environment="prod"),
    "nobody_reachable": lambda s: nobody_to_ask(
        s, Operation.APPROVE_EMAIL, "Alice", environment="prod", eligible=[DANA]
    ),
    "yourself": lambda s: may_do_it_yourself(
        s, Operation.REJECT_EMAIL, "Alice", PENDING.id, environment="prod"
    ),
    "own": lambda s: own_request(s, PENDING),
    "unavailable": lambda s: approvals_unavailable(s, environment="prod"),
    "mine": lambda s: my_requests(s, [PENDING, APPROVED], environment="prod"),
    "mine_empty": lambda s: my_requests(s, [], environment="prod"),
    "section": _section,
    "audit": lambda s: audit_log(s, [LINE, replace(LINE, id=8, undoes=7)], environment="prod"),
    "audit_other_targets": lambda s: audit_log(s, OTHER_TARGETS, environment="prod"),
    "audit_empty": lambda s: audit_log(s, [], environment="prod", subject="Alice"),
    "audit_profile": lambda s: audit_log(
        s,
        OTHER_TARGETS,
        environment="prod",
        subject="Contoso EXO",
        subject_kind=TargetKind.PROFILE,
    ),
    "audit_denied": lambda s: audit_not_allowed(s, environment="prod"),
    **{
        f"undo_{o.value}": (
            lambda s, o=o: undo_result(  # type: ignore[misc]
                s,
                o,
                target="Alice",
                environment="prod",
                changes=[FieldChange(Field.SERVER_PROFILE, "A", "B")],
                entry_id=7,
            )
        )
        for o in UndoOutcome
    },
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_card_passes_schema_and_teams_checks(name: str, strings: Strings) -> None:
    checks.check_card(BUILDERS[name](strings))


def test_the_approver_card_carries_only_the_request_id(en: Strings) -> None:
    card = approval_request(en, PENDING, refresh_user_ids=["29:dana"])
    datas = [
        node["data"]
        for node in checks.walk(card)
        if node.get("type") == "Action.Execute" and "data" in node
    ]
    assert {json.dumps(d, sort_keys=True) for d in datas} == {
        json.dumps({verbs.REQUEST_ID: PENDING.id, verbs.ENVIRONMENT: "prod"}, sort_keys=True)
    }
    assert card["refresh"]["action"]["verb"] == verbs.APPROVAL_VIEW
    assert card["refresh"]["userIds"] == ["29:dana"]


def test_outside_text_is_escaped(en: Strings) -> None:
    text = json.dumps(approval_request(en, PENDING))
    assert "Starts on \\\\*Monday\\\\*" in text


def test_outcome_names_who_decided_in_both_languages(en: Strings, id_: Strings) -> None:
    assert "Approved by Dana Delegate" in json.dumps(request_outcome(en, APPROVED))
    assert "Disetujui oleh Dana Delegate" in json.dumps(request_outcome(id_, APPROVED))


def test_a_long_audit_log_fits(en: Strings) -> None:
    lines = [replace(LINE, id=n, detail="x" * 300) for n in range(1, 400)]
    card = audit_log(en, lines, environment="prod")
    assert card_size(card) <= 80_000
    assert "more" in json.dumps(card)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en",
            [
                "#9 · Turn off the approval requirement · Organization: Contoso (prod)",
                "- Process emails only for approved users: Yes → No",
                "#10 · Create email server profile · Email server profile: Contoso EXO",
                "- Email server type: Not set → Exchange Server",
                "- Authentication, incoming: Not set → Server-to-server authentication",
                "#11 · Assign the Delegated Mailbox Approver role · User: Sam Sysadmin",
                "- Delegated Mailbox Approver role: No → Yes",
                "Team: Mailbox Operations",
            ],
        ),
        (
            "id",
            [
                "#9 · Nonaktifkan persyaratan persetujuan · Organisasi: Contoso (prod)",
                "- Proses email hanya untuk pengguna yang disetujui: Ya → Tidak",
                "Profil server email: Contoso EXO",
                "- Nama profil: Tidak diatur → Contoso EXO",
                "- Jenis server email: Tidak diatur → Exchange Server",
                "Pengguna: Sam Sysadmin",
                "- Peran Pemberi Persetujuan Kotak Pesan Terdelegasi: Tidak → Ya",
                "Tim: Mailbox Operations",
            ],
        ),
    ],
)
def test_changes_beyond_mailboxes_read_plainly(locale: str, expected: list[str]) -> None:
    texts = {
        node["text"]
        for node in checks.walk(audit_log(translator(locale), OTHER_TARGETS, environment="prod"))
        if node.get("type") == "TextBlock"
    }
    for text in expected:
        assert any(text in t for t in texts), text


def test_a_mailbox_goes_by_its_name_alone(en: Strings) -> None:
    titles = [
        node["text"]
        for node in checks.walk(audit_log(en, [LINE], environment="prod"))
        if node.get("weight") == "Bolder" and str(node.get("text", "")).startswith("#")
    ]
    assert titles == ["#7 · Approve email · Alice Anders"]


@pytest.mark.parametrize(
    ("locale", "kind", "expected"),
    [
        ("en", TargetKind.MAILBOX, "Alice Anders"),
        ("en", TargetKind.PROFILE, "Email server profile: Alice Anders"),
        ("en", TargetKind.ORGANIZATION, "Organization: Alice Anders"),
        ("id", TargetKind.PROFILE, "Profil server email: Alice Anders"),
        ("id", TargetKind.ORGANIZATION, "Organisasi: Alice Anders"),
    ],
)
def test_the_subject_says_what_was_searched(locale: str, kind: TargetKind, expected: str) -> None:
    """Named like the entries' targets, so "Alice Anders" the profile is not taken for the
    person."""
    card = audit_log(
        translator(locale), [], environment="prod", subject="Alice Anders", subject_kind=kind
    )
    _title, subtitle, _environment = card["body"][0]["items"]
    assert subtitle["text"] == expected
