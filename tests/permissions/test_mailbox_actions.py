"""Mailbox configuration, views, server profiles and organization settings."""

from __future__ import annotations

import pytest

from permissions import (
    Action,
    ApprovalState,
    Depth,
    Flag,
    MailboxKind,
    MailboxTarget,
    OwnRecordRequirement,
    PrincipalKind,
    PrivilegeRequirement,
    RoleAssignmentTarget,
    ServerProfileTarget,
    decide,
    rules,
)
from permissions.identifiers import (
    PRV_APPROVE_REJECT_EMAIL,
    PRV_CREATE_EMAIL_SERVER_PROFILE,
    PRV_READ_MAILBOX,
    PRV_WRITE_EMAIL_SERVER_PROFILE,
    PRV_WRITE_MAILBOX,
    PRV_WRITE_ORGANIZATION,
)
from tests.permissions.builders import (
    DELEGATED_APPROVER,
    EA,
    GA,
    ME,
    MY_ID,
    SYSTEM_ADMIN,
    mailbox,
    online,
    onprem,
    person,
)

MAILBOX_SETTINGS = [
    Action.TEST_AND_ENABLE,
    Action.APPLY_DEFAULT_EMAIL_SETTINGS,
    Action.CHANGE_MAILBOX_DELIVERY,
    Action.SET_SYNC_FROM_THIS_ORG_ONLY,
]


@pytest.mark.parametrize("action", MAILBOX_SETTINGS)
def test_user_depth_reaches_only_your_own_mailbox(action: Action) -> None:
    """Seed "Konfigurasikan kotak pesan": Read and Write on the Mailbox table are needed;
    user depth (Basic User) covers only mailboxes the actor owns."""
    una = person()
    own = decide(action, una, online(), mailbox(ME, own=True))
    assert own.allowed
    assert own.rule == rules.MAILBOX_WRITE_OWN
    other = decide(action, una, online(), mailbox(own=False))
    assert not other.allowed
    assert other.rule == rules.MAILBOX_WRITE_ALL
    assert other.missing == (
        PrivilegeRequirement(PRV_READ_MAILBOX, Depth.BUSINESS_UNIT, Depth.USER),
        PrivilegeRequirement(PRV_WRITE_MAILBOX, Depth.BUSINESS_UNIT, Depth.USER),
    )
    assert [a.rule for a in other.alternatives] == [
        rules.MAILBOX_WRITE_ALL,
        rules.MAILBOX_WRITE_OWN,
    ]


@pytest.mark.parametrize("depth", [Depth.BUSINESS_UNIT, Depth.PARENT_CHILD, Depth.ORGANIZATION])
@pytest.mark.parametrize("action", MAILBOX_SETTINGS)
def test_business_unit_depth_and_wider_reach_every_mailbox(action: Action, depth: Depth) -> None:
    """Brief: business unit and wider cover all mailboxes (the sim has one business unit)."""
    actor = person(privileges={PRV_READ_MAILBOX: depth, PRV_WRITE_MAILBOX: depth})
    decision = decide(action, actor, online(), mailbox(kind=MailboxKind.QUEUE))
    assert decision.allowed
    assert decision.rule == rules.MAILBOX_WRITE_ALL


def test_read_and_write_are_both_needed() -> None:
    """Seed "Konfigurasikan kotak pesan": "hak istimewa Baca dan Tulis" — both."""
    write_only = person(privileges={PRV_WRITE_MAILBOX: Depth.ORGANIZATION})
    decision = decide(Action.TEST_AND_ENABLE, write_only, online(), mailbox())
    assert not decision.allowed
    assert decision.missing == (PrivilegeRequirement(PRV_READ_MAILBOX, Depth.BUSINESS_UNIT),)


def test_ownership_from_the_owner_id() -> None:
    """Reference §1.1 (``ownerid``): with no explicit flag, ownership is the owner's
    systemuser id against the actor's; unknown ownership is not ownership."""
    mine = MailboxTarget(MailboxKind.PERSON, ME, owner_systemuser_id=MY_ID.upper())
    assert decide(Action.TEST_AND_ENABLE, person(), online(), mine).allowed
    unknown = MailboxTarget(MailboxKind.PERSON, ME)
    decision = decide(Action.TEST_AND_ENABLE, person(), online(), unknown)
    assert not decision.allowed
    own_path = next(p for p in decision.paths if p.rule == rules.MAILBOX_WRITE_OWN)
    assert own_path.missing == (OwnRecordRequirement("mailbox", unknown=True),)


def test_test_and_enable_approves_your_own_address() -> None:
    """Seed "Setujui kotak pesan pengguna Anda sendiri": with the conditions met, Test &
    Enable approves the address as part of testing and enabling."""
    pending = decide(Action.TEST_AND_ENABLE, person(), online(), mailbox(ME, own=True))
    assert pending.flags == frozenset({Flag.TEST_ENABLE_APPROVES_ADDRESS})
    approved = mailbox(ME, own=True, approval=ApprovalState.APPROVED)
    assert decide(Action.TEST_AND_ENABLE, person(), online(), approved).flags == frozenset()
    setting_on = online(require_privilege=True)
    target = mailbox(ME, own=True)
    assert decide(Action.TEST_AND_ENABLE, person(), setting_on, target).flags == frozenset()


def test_mailbox_settings_need_a_mailbox() -> None:
    """Brief: deny by default without the target."""
    sam = person(direct=[SYSTEM_ADMIN])
    assert decide(Action.TEST_AND_ENABLE, sam, online()).rule == rules.MISSING_FACTS
    profile = ServerProfileTarget("p1", owned_by_actor=True)
    assert decide(Action.TEST_AND_ENABLE, sam, online(), profile).rule == rules.WRONG_TARGET


# --- views ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depth", "allowed", "flags"),
    [
        (None, False, frozenset()),
        (Depth.USER, True, frozenset({Flag.OWN_MAILBOXES_ONLY})),
        (Depth.BUSINESS_UNIT, True, frozenset()),
        (Depth.ORGANIZATION, True, frozenset()),
    ],
)
def test_listing_views(depth: Depth | None, allowed: bool, flags: frozenset[Flag]) -> None:
    """Brief: read-only views need prvReadMailbox at any depth; user depth sees own only."""
    privileges = {} if depth is None else {PRV_READ_MAILBOX: depth}
    decision = decide(Action.VIEW, person(privileges=privileges), online())
    assert decision.allowed is allowed
    assert decision.flags == flags


def test_viewing_one_mailbox() -> None:
    """Brief: user-depth read reaches only the actor's own mailbox."""
    una = person()
    assert decide(Action.VIEW, una, online(), mailbox(ME, own=True)).allowed
    other = decide(Action.VIEW, una, online(), mailbox())
    assert not other.allowed
    assert other.rule == rules.MAILBOX_READ_ALL
    assert decide(Action.VIEW, person(direct=[SYSTEM_ADMIN]), online(), mailbox()).allowed
    role = RoleAssignmentTarget(PrincipalKind.USER)
    assert decide(Action.VIEW, una, online(), role).rule == rules.WRONG_TARGET


# --- server profiles and organization settings -------------------------------------------


def test_create_server_profile() -> None:
    """Seed "Membuat profil server email": creating a profile needs the Create privilege."""
    assert decide(Action.CREATE_SERVER_PROFILE, person(direct=[SYSTEM_ADMIN]), online()).allowed
    decision = decide(Action.CREATE_SERVER_PROFILE, person(), online())
    assert not decision.allowed
    assert decision.missing == (PrivilegeRequirement(PRV_CREATE_EMAIL_SERVER_PROFILE),)


def test_change_server_profile_depth() -> None:
    """Reference §2 (emailserverprofile is user-owned): user-depth Write reaches your own
    profiles only; business unit and wider reach all."""
    user_writer = person(privileges={PRV_WRITE_EMAIL_SERVER_PROFILE: Depth.USER})
    mine = ServerProfileTarget("p1", owned_by_actor=True)
    theirs = ServerProfileTarget("p2", owned_by_actor=False)
    assert decide(Action.CHANGE_SERVER_PROFILE, user_writer, online(), mine).allowed
    denied = decide(Action.CHANGE_SERVER_PROFILE, user_writer, online(), theirs)
    assert not denied.allowed
    assert denied.rule == rules.PROFILE_WRITE_ALL
    assert not decide(Action.CHANGE_SERVER_PROFILE, user_writer, online()).allowed
    sam = person(direct=[SYSTEM_ADMIN])
    assert decide(Action.CHANGE_SERVER_PROFILE, sam, online(), theirs).allowed
    assert decide(Action.CHANGE_SERVER_PROFILE, sam, online()).allowed
    wrong = decide(Action.CHANGE_SERVER_PROFILE, sam, online(), mailbox())
    assert wrong.rule == rules.WRONG_TARGET


@pytest.mark.parametrize(
    "action", [Action.SET_DEFAULT_SERVER_PROFILE, Action.CHANGE_ORG_EMAIL_SETTINGS]
)
def test_organization_settings_need_write_organization(action: Action) -> None:
    """Reference §3 (single organization row; defaultemailserverprofileid and email
    settings are its columns): prvWriteOrganization."""
    assert decide(action, person(direct=[SYSTEM_ADMIN]), online()).allowed
    decision = decide(action, person(entra=[GA]), online())
    assert not decision.allowed
    assert decision.missing == (PrivilegeRequirement(PRV_WRITE_ORGANIZATION),)
    assert decision.rule == rules.ORGANIZATION_WRITE


# --- removing the approval requirement ----------------------------------------------------


def test_remove_approval_requirement_online_follows_row_one() -> None:
    """Seed "Hapus persyaratan untuk menyetujui kotak pesan": only the admins named in the
    table; online that is the Exchange Online row, where System admin alone is No."""
    sam = person(direct=[SYSTEM_ADMIN])
    denied = decide(Action.REMOVE_APPROVAL_REQUIREMENT, sam, online())
    assert not denied.allowed
    assert denied.rule.id == "online/exchange-online/sa"
    for actor in (
        person(entra=[GA], direct=[SYSTEM_ADMIN]),
        person(direct=[DELEGATED_APPROVER, SYSTEM_ADMIN]),
    ):
        assert decide(Action.REMOVE_APPROVAL_REQUIREMENT, actor, online()).allowed
    old = online("9.2.22104.00169")
    dana = person(direct=[DELEGATED_APPROVER, SYSTEM_ADMIN])
    assert not decide(Action.REMOVE_APPROVAL_REQUIREMENT, dana, old).allowed


def test_remove_approval_requirement_onprem_and_privilege() -> None:
    """Seed rows 3–4 (System admin, footnote ²) plus prvWriteOrganization, since the
    switches are columns of the organization row (reference §4.1, §3)."""
    decision = decide(Action.REMOVE_APPROVAL_REQUIREMENT, person(direct=[SYSTEM_ADMIN]), onprem())
    assert decision.allowed
    assert decision.rule.id == "onprem/exchange-online/sa"
    assert decision.flags == frozenset({Flag.INCLUDE_EXCHANGE_ADMIN})
    no_org_write = person(
        entra=[EA],
        direct=[SYSTEM_ADMIN],
        privileges={PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION},
    )
    denied = decide(Action.REMOVE_APPROVAL_REQUIREMENT, no_org_write, online())
    assert not denied.allowed
    assert denied.missing == (PrivilegeRequirement(PRV_WRITE_ORGANIZATION),)
