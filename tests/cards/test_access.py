"""The permission-denied card says the seed's rule, what is missing and who could do it,
in the person's language."""

from __future__ import annotations

import pytest

from cards.access import Need, NeedKind, RuleRef, alternative_text, need_text, rule_text
from cards.i18n import Strings

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"

NEEDS = [
    Need(NeedKind.ENTRA_ROLE, GLOBAL_ADMIN.upper(), "Entra role Global Administrator"),
    Need(NeedKind.DATAVERSE_ROLE, "System Administrator", "Dataverse role System Administrator"),
    Need(NeedKind.DATAVERSE_ROLE, "Delegated Mailbox Approver", "…", direct_only=True),
    Need(NeedKind.PRIVILEGE, "prvApproveRejectEmailAddress", "privilege …"),
    Need(NeedKind.PRIVILEGE, "prvWriteMailbox", "privilege …", depth="business_unit"),
    Need(NeedKind.VERSION, "9.2.22104.00170", "…", actual="9.2.21000.1"),
    Need(NeedKind.VERSION, "9.2.22104.00170", "…"),
    Need(NeedKind.DEPLOYMENT, "online", "an online environment"),
    Need(NeedKind.DEPLOYMENT, "onprem", "an on-premises environment"),
    Need(NeedKind.PERSON, "", "a person's account"),
    *(Need(NeedKind.SELF_APPROVAL, str(n), f"condition {n}") for n in range(1, 5)),
    Need(NeedKind.OWN_RECORD, "mailbox", "ownership of the mailbox row"),
    Need(NeedKind.OWN_RECORD, "emailserverprofile", "ownership of the profile row"),
    Need(NeedKind.USER_PRINCIPAL, "", "a user, not a team"),
    Need(NeedKind.KNOWN_FACT, "actor.upn", "a known value for actor.upn"),
    Need(NeedKind.SERVER_TYPE, "9", "a known email server profile type"),
]


@pytest.mark.parametrize("need", NEEDS, ids=lambda n: f"{n.kind}-{n.name}")
def test_every_requirement_is_said_in_the_persons_language(
    need: Need, en: Strings, id_: Strings
) -> None:
    english, indonesian = need_text(en, need), need_text(id_, need)
    assert english
    assert indonesian
    assert english != indonesian
    assert english != need.english  # the card's own wording, not the fallback


def test_unknown_requirements_fall_back_to_the_english_text(en: Strings) -> None:
    need = Need(NeedKind.ENTRA_ROLE, "00000000-0000-0000-0000-000000000000", "Entra role X")
    assert need_text(en, need) == "Entra role X"
    assert need_text(en, Need(NeedKind.KNOWN_FACT, "new.fact", "a [known] value")) == (
        "a \\[known\\] value"
    )


def test_table_cells_read_like_the_seed(en: Strings, id_: Strings) -> None:
    cell = RuleRef("online/exchange-online/dma+sa", "…", "Yes¹")
    assert rule_text(en, cell) == (
        "Customer engagement apps (online) with Exchange Online · Delegated Mailbox Approver "
        "and System admin: Yes, can approve email (from version 9.2.22104.00170)"
    )
    assert rule_text(id_, RuleRef("onprem/exchange-onprem/sa", "…", "Yes²")) == (
        "Customer Engagement (on-premises) dengan Exchange (lokal) · Admin sistem saja: "
        "Ya (dapat menyetujui email) (sertakan admin Exchange dalam proses bisnis Anda)"
    )
    assert rule_text(id_, RuleRef("online/exchange-online/ga", "…", "No")).endswith(
        "Admin global saja: Tidak (tidak dapat menyetujui email)"
    )


def test_named_rules_and_unknown_rules(en: Strings, id_: Strings) -> None:
    assert rule_text(id_, RuleRef("approve/own-mailbox", "Approve your own mailbox")) == (
        "Setujui kotak pesan Anda sendiri"
    )
    assert rule_text(en, RuleRef("new/rule", "A *new* rule")) == "A \\*new\\* rule"


def test_alternatives_name_the_column(id_: Strings) -> None:
    assert alternative_text(id_, RuleRef("online/exchange-online/ea+sa", "…", "Yes")) == (
        "Admin Exchange dan Admin sistem"
    )
    assert alternative_text(id_, RuleRef("delegated-approver/global-admin", "…")) == (
        "Admin global menetapkan peran Pemberi Persetujuan Kotak Pesan Terdelegasi"
    )
