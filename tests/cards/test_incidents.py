"""Incident cards and the daily digest: schema-valid in English and Indonesian, under the
size budget however many mailboxes, with the on-call buttons carrying what the bot needs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest

from cards import verbs
from cards.common import VERB_KEY, Card, Mention
from cards.digest import (
    DigestCounts,
    DigestView,
    MailboxLine,
    PendingLine,
    ProfileLine,
    age,
    daily_digest,
)
from cards.i18n import Language, Strings, load_translations
from cards.incidents import (
    Cause,
    IncidentStatus,
    IncidentView,
    Member,
    Notice,
    SilenceInfo,
    Subject,
    incident_card,
)
from tests.cards import checks
from tests.cards.test_i18n import _Recorder, _texts

ENV: Final = "contoso-prod"
NOW: Final = datetime(2025, 11, 27, 9, 44, tzinfo=UTC)
DANA: Final = Mention("Dana Delegate", "aa000000-0000-4000-8000-000000000003")
HUGE: Final = "x" * 5_000
ID: Final = str(uuid.UUID(int=0x1D))


def view(**changes: Any) -> IncidentView:
    values: dict[str, Any] = {
        "incident_id": ID,
        "subject": Subject.MAILBOX,
        "name": "Bob Brown",
        "detail": "bob@contoso.com",
        "profile": "Microsoft Exchange Online",
        "error_code": "3",
        "error_text": "Authentication failure: Exchange Online rejected the credentials.",
        "status": IncidentStatus.FIRING,
        "first_seen": NOW - timedelta(hours=2),
        "last_seen": NOW,
        "count": 3,
    }
    values.update(changes)
    return IncidentView(**values)


def members(n: int, *, name: str = "Generated user", resolved: int = 0) -> list[Member]:
    return [
        Member(
            f"{name}{i:05d}",
            IncidentStatus.RESOLVED if i < resolved else IncidentStatus.FIRING,
            1,
        )
        for i in range(n)
    ]


def digest(**changes: Any) -> DigestView:
    values: dict[str, Any] = {
        "as_of": NOW,
        "today": DigestCounts(
            failing=19, disabled=4, pending=120, failing_profiles=1, open_incidents=23
        ),
        "yesterday": DigestCounts(
            failing=18, disabled=4, pending=125, failing_profiles=0, open_incidents=20
        ),
        "pending": [
            PendingLine(f"Pending {n}", NOW - timedelta(days=n, hours=3), f"p{n}@contoso.com")
            for n in range(12)
        ],
        "failing": [MailboxLine(f"Failing {n}", "3") for n in range(19)],
        "disabled": [MailboxLine(f"Disabled {n}") for n in range(4)],
        "profiles": [ProfileLine("Contoso Exchange (on-premises)", 2, 2)],
    }
    values.update(changes)
    return DigestView(**values)


CardBuilder = Callable[[Strings], Card]

BUILDERS: Final[dict[str, CardBuilder]] = {
    "new": lambda s: incident_card(s, view(), environment=ENV, notice=Notice.NEW, mention=DANA),
    "acknowledged": lambda s: incident_card(
        s,
        view(
            status=IncidentStatus.ACKNOWLEDGED,
            acknowledged_by="Dana Delegate",
            acknowledged_at=NOW,
        ),
        environment=ENV,
    ),
    "silenced": lambda s: incident_card(
        s,
        view(silence=SilenceInfo(NOW + timedelta(hours=8), "Exchange maintenance", "Dana")),
        environment=ENV,
    ),
    "escalated": lambda s: incident_card(
        s,
        view(escalation_level=1, escalated_to="Eddie Exchange"),
        environment=ENV,
        notice=Notice.ESCALATED,
        mention=Mention("Eddie Exchange", "aa000000-0000-4000-8000-000000000002"),
    ),
    "to_approvers": lambda s: incident_card(
        s, view(escalation_level=2), environment=ENV, notice=Notice.ESCALATED_TO_APPROVERS
    ),
    "reminder": lambda s: incident_card(
        s, view(), environment=ENV, notice=Notice.REMINDER, mention=DANA
    ),
    "status_without_alert": lambda s: incident_card(
        s, view(error_code=Cause.STATUS, error_text=None), environment=ENV
    ),
    "disabled": lambda s: incident_card(
        s, view(error_code=Cause.PROCESSING_DISABLED, error_text=None), environment=ENV
    ),
    "group": lambda s: incident_card(
        s,
        view(name="Generated user00000", members=members(30, resolved=2), count=31),
        environment=ENV,
        notice=Notice.NEW,
        mention=DANA,
    ),
    "approvals": lambda s: incident_card(
        s,
        view(error_code=Cause.APPROVAL_PENDING, error_text=None, members=members(4)),
        environment=ENV,
    ),
    "profile_failing": lambda s: incident_card(
        s,
        view(
            subject=Subject.PROFILE,
            name="Contoso Exchange (on-premises)",
            detail=None,
            error_code=Cause.PROFILE_FAILING,
            error_text=None,
            profile_failing=(2, 2),
            held_back=2,
            can_retest=False,
        ),
        environment=ENV,
    ),
    "profile_alert": lambda s: incident_card(
        s,
        view(subject=Subject.PROFILE, name="Contoso Exchange (on-premises)", error_code="42"),
        environment=ENV,
    ),
    "resolved": lambda s: incident_card(
        s, view(status=IncidentStatus.RESOLVED, resolved_at=NOW), environment=ENV
    ),
    "resolved_group": lambda s: incident_card(
        s,
        view(status=IncidentStatus.RESOLVED, resolved_at=NOW, members=members(5, resolved=5)),
        environment=ENV,
    ),
    "digest": lambda s: daily_digest(s, digest(), environment=ENV),
    "digest_first_day": lambda s: daily_digest(
        s,
        digest(
            yesterday=None,
            today=DigestCounts(0, 0, 0, 0, 0),
            pending=[],
            failing=[],
            disabled=[],
            profiles=[],
        ),
        environment=ENV,
    ),
}


def _actions(card: Card, kind: str) -> list[dict[str, Any]]:
    return [n for n in checks.walk(card) if n.get("type") == kind]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_schema_and_teams_rules(name: str, strings: Strings) -> None:
    card = BUILDERS[name](strings)
    checks.check_card(card)
    assert card["lang"] == strings.language.value


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_indonesian_differs_from_english(name: str, en: Strings, id_: Strings) -> None:
    assert _texts(BUILDERS[name](en)) != _texts(BUILDERS[name](id_))


@pytest.mark.parametrize("language", list(Language))
def test_every_string_is_in_the_catalog(language: Language) -> None:
    translations = load_translations(language)
    recorder = _Recorder()
    translations.add_fallback(recorder)
    strings = Strings(language, UTC, translations)
    for builder in BUILDERS.values():
        builder(strings)
    assert recorder.misses == []


def test_buttons_carry_the_incident_and_the_hours(en: Strings) -> None:
    card = BUILDERS["new"](en)
    executes = _actions(card, "Action.Execute")
    assert {a["verb"] for a in executes} == {
        verbs.INCIDENT_ACK,
        verbs.INCIDENT_RETEST,
        verbs.INCIDENT_SILENCE,
        verbs.INCIDENT_OPEN,
    }
    for action in executes:
        assert action["data"][verbs.INCIDENT_ID] == ID
        assert action["fallback"]["data"][VERB_KEY] == action["verb"]
    silences = [a for a in executes if a["verb"] == verbs.INCIDENT_SILENCE]
    assert [a["data"][verbs.HOURS] for a in silences] == ["1", "8", "24"]
    assert [a["title"] for a in silences] == ["1 hour", "8 hours", "24 hours"]
    (panel,) = _actions(card, "Action.ShowCard")
    (reason,) = [n for n in checks.walk(panel["card"]) if n.get("type") == "Input.Text"]
    assert reason["id"] == verbs.REASON and reason["isRequired"] is True
    assert all(a in list(checks.walk(panel["card"])) for a in silences)


def test_the_mention_is_an_entity(en: Strings) -> None:
    card = BUILDERS["new"](en)
    assert card["msteams"]["entities"] == [DANA.entity]
    assert "<at>Dana Delegate</at> is on call." in _texts(card)
    # An update of the same card mentions nobody again.
    assert "entities" not in incident_card(en, view(), environment=ENV).get("msteams", {})


def test_state_changes_the_buttons(en: Strings) -> None:
    def verbs_of(card: Card) -> set[str]:
        return {a["verb"] for a in _actions(card, "Action.Execute")}

    assert verbs.INCIDENT_ACK not in verbs_of(BUILDERS["acknowledged"](en))
    assert verbs.INCIDENT_SILENCE not in verbs_of(BUILDERS["silenced"](en))
    assert verbs.INCIDENT_RETEST not in verbs_of(BUILDERS["profile_failing"](en))
    assert verbs_of(BUILDERS["resolved"](en)) == {verbs.INCIDENT_OPEN}
    assert _actions(BUILDERS["resolved"](en), "Action.ShowCard") == []
    assert "● Resolved" in _texts(BUILDERS["resolved"](en))
    assert "● Silenced" in _texts(BUILDERS["silenced"](en))


def test_facts(en: Strings, id_: Strings) -> None:
    facts = {
        f["title"]: f["value"]
        for n in checks.walk(BUILDERS["acknowledged"](en))
        for f in n.get("facts", [])
    }
    assert facts["Error code"] == "3"
    assert facts["How often"] == "3 times"
    assert facts["State"] == "Acknowledged"
    assert facts["Acknowledged by"] == "Dana Delegate, Nov 27, 2025, 9:44\u202fAM UTC"
    assert facts["Since"] == "Nov 27, 2025, 7:44\u202fAM UTC"
    indonesian = _texts(BUILDERS["group"](id_))
    assert "30 kotak pesan gagal dengan cara yang sama" in indonesian
    assert "Akui" in indonesian and "Uji ulang" in indonesian and "Bisukan…" in indonesian


def test_a_synthetic_cause_is_explained_not_shown_as_a_code(en: Strings) -> None:
    card = BUILDERS["status_without_alert"](en)
    texts = _texts(card)
    assert "A test or synchronization status is Failure, and no alert says why." in texts
    assert "Error code" not in texts


def test_a_group_of_500_with_huge_names_fits_and_counts_the_rest(strings: Strings) -> None:
    card = incident_card(
        strings,
        view(name=HUGE, members=members(500, name=HUGE), error_text=HUGE, profile=HUGE),
        environment=HUGE,
        max_listed=500,
    )
    checks.check_card(card)
    rows = [
        n for n in checks.walk(card) if n.get("type") == "ColumnSet" and len(n["columns"]) == 2
    ]
    more = [t for t in _texts(card) if t.startswith("…")]
    assert len(more) == 1
    assert strings.number(500 - (len(rows) - 1)) in more[0]  # one ColumnSet is the header


def test_a_digest_of_thousands_fits(strings: Strings) -> None:
    many = digest(
        today=DigestCounts(5000, 700, 9000, 30, 6000),
        pending=[PendingLine(HUGE, NOW - timedelta(days=400)) for _ in range(500)],
        failing=[MailboxLine(HUGE, HUGE) for _ in range(500)],
        disabled=[MailboxLine(HUGE) for _ in range(500)],
        profiles=[ProfileLine(HUGE, 10, 20) for _ in range(30)],
    )
    checks.check_card(daily_digest(strings, many, environment=HUGE))


def test_digest_trend_and_ages(en: Strings, id_: Strings) -> None:
    card = BUILDERS["digest"](en)
    facts = {f["title"]: f["value"] for n in checks.walk(card) for f in n.get("facts", [])}
    assert facts["Failing mailboxes"] == "19 (+1 since yesterday)"
    assert facts["Pending approvals"] == "120 (−5 since yesterday)"
    assert facts["Disabled for processing"] == "4 (no change since yesterday)"
    texts = _texts(card)
    assert "waiting 11 days" in texts  # the longest first
    assert "… and 110 more" in texts  # 120 pending, 10 listed
    assert age(en, NOW - timedelta(minutes=5), NOW) == "5 minutes"
    assert age(id_, NOW - timedelta(hours=5), NOW) == "5 jam"
    assert age(en, NOW + timedelta(hours=1), NOW) == "0 minutes"
