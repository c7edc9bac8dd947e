"""Approving and rejecting email addresses: version gate, own-mailbox approval, team-held
roles, flags, alternatives and missing facts."""

from __future__ import annotations

import pytest

from permissions import (
    Action,
    ApprovalState,
    DataverseRoleRequirement,
    Deployment,
    EntraRoleRequirement,
    Environment,
    Fact,
    Flag,
    KnownFactRequirement,
    KnownServerTypeRequirement,
    MailboxKind,
    PrincipalKind,
    PrivilegeRequirement,
    RoleAssignmentTarget,
    SelfApprovalCondition,
    SelfApprovalRequirement,
    VersionRequirement,
    decide,
)
from permissions.identifiers import (
    DELEGATED_MAILBOX_APPROVER_NAME,
    PRV_APPROVE_REJECT_EMAIL,
    PRV_READ_MAILBOX,
    PRV_WRITE_MAILBOX,
    SYSTEM_ADMINISTRATOR_NAME,
    SYSTEM_ADMINISTRATOR_TEMPLATE,
)
from permissions.model import Depth
from permissions.requirements import PersonRequirement
from permissions.rules import MISSING_FACTS, SELF_APPROVAL, WRONG_TARGET
from tests.permissions.builders import (
    BASIC_USER,
    DELEGATED_APPROVER,
    EA,
    EMAIL_APPROVER,
    GA,
    ME,
    SYSTEM_ADMIN,
    mailbox,
    online,
    onprem,
    person,
)

DMA_SA = (DELEGATED_APPROVER, SYSTEM_ADMIN)
GATE = "9.2.22104.00170"
SA_REQUIREMENT = DataverseRoleRequirement(SYSTEM_ADMINISTRATOR_NAME, SYSTEM_ADMINISTRATOR_TEMPLATE)
DMA_REQUIREMENT = DataverseRoleRequirement(DELEGATED_MAILBOX_APPROVER_NAME, None, direct_only=True)


# --- version gate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "allowed"),
    [
        ("9.2.22104.00169", False),
        ("9.2.22104.00170", True),
        ("9.2.22104.00171", True),
        ("9.2.3.12345", False),
        ("9.2.24011.00099", True),
    ],
)
def test_delegated_approver_version_gate(version: str, allowed: bool) -> None:
    """Seed footnote ¹ and reference §4.4: Delegated Mailbox Approver + System admin may
    approve from 9.2.22104.00170, compared numerically (9.2.3.x is older)."""
    decision = decide(Action.APPROVE_EMAIL, person(direct=DMA_SA), online(version), mailbox())
    assert decision.allowed is allowed
    assert decision.rule.id == "online/exchange-online/dma+sa"
    if not allowed:
        assert decision.missing == (VersionRequirement(GATE, version),)
        assert "9.2.22104.00170" in decision.explain()


def test_unknown_version_fails_the_gate() -> None:
    """Reference §4.4; brief: missing facts deny. A Global admin is not affected."""
    decision = decide(Action.APPROVE_EMAIL, person(direct=DMA_SA), online(None), mailbox())
    assert not decision.allowed
    assert decision.missing == (VersionRequirement(GATE, None),)
    ga = person(entra=[GA], direct=[SYSTEM_ADMIN])
    assert decide(Action.APPROVE_EMAIL, ga, online(None), mailbox()).allowed


def test_alternatives_follow_the_version() -> None:
    """Seed "Model izin" row 1: who could approve instead. The Delegated Mailbox Approver
    is offered only when the version allows it."""
    sam = person(direct=[SYSTEM_ADMIN])
    recent = decide(Action.APPROVE_EMAIL, sam, online(), mailbox())
    assert [a.rule.id for a in recent.alternatives] == [
        "online/exchange-online/ga+sa",
        "online/exchange-online/ea+sa",
        "online/exchange-online/dma+sa",
        SELF_APPROVAL.id,
    ]
    assert [a.label for a in recent.alternatives][:3] == [
        "Global admin and System admin",
        "Exchange admin and System admin",
        "Delegated Mailbox Approver and System admin",
    ]
    assert recent.alternatives[0].requirements == (
        PersonRequirement(),
        EntraRoleRequirement(GA),
        SA_REQUIREMENT,
        PrivilegeRequirement(PRV_APPROVE_REJECT_EMAIL),
    )
    old = decide(Action.APPROVE_EMAIL, sam, online("9.2.22104.00169"), mailbox())
    assert "online/exchange-online/dma+sa" not in [a.rule.id for a in old.alternatives]


def test_alternatives_in_the_system_admin_rows() -> None:
    """Seed rows 2–4: only System admin is named as Yes; a queue has no own-mailbox path."""
    decision = decide(
        Action.APPROVE_EMAIL,
        person(),
        onprem(),
        mailbox(kind=MailboxKind.QUEUE, servertype=0),
    )
    assert not decision.allowed
    assert [a.rule.id for a in decision.alternatives] == ["onprem/exchange-onprem/sa"]


# --- own-mailbox approval -------------------------------------------------------------


def test_own_mailbox_approval_when_all_conditions_hold() -> None:
    """Seed "Setujui kotak pesan pengguna Anda sendiri" / reference §4.1: UPN matches,
    setting disabled (default), user-level Write, not a queue: approved without the
    table's roles."""
    decision = decide(Action.APPROVE_EMAIL, person(), online(), mailbox(ME))
    assert decision.allowed
    assert decision.rule == SELF_APPROVAL
    assert Flag.SELF_APPROVAL in decision.flags


def test_own_mailbox_match_is_case_insensitive() -> None:
    """Reference §4.1 condition 1: UPN and address compared without regard to case."""
    decision = decide(Action.APPROVE_EMAIL, person(upn="Me@Contoso.COM"), online(), mailbox(ME))
    assert decision.allowed


@pytest.mark.parametrize(
    ("case", "condition", "unknown"),
    [
        ("upn-differs", SelfApprovalCondition.UPN_MATCHES_MAILBOX, None),
        ("upn-unknown", SelfApprovalCondition.UPN_MATCHES_MAILBOX, Fact.ACTOR_UPN),
        ("email-unknown", SelfApprovalCondition.UPN_MATCHES_MAILBOX, Fact.MAILBOX_EMAIL),
        ("setting-on", SelfApprovalCondition.SETTING_DISABLED_OR_PRIVILEGE, None),
        (
            "setting-unknown",
            SelfApprovalCondition.SETTING_DISABLED_OR_PRIVILEGE,
            Fact.SELF_APPROVE_SETTING,
        ),
        ("no-write", SelfApprovalCondition.USER_LEVEL_WRITE, None),
        ("queue", SelfApprovalCondition.NOT_A_QUEUE, None),
    ],
)
def test_each_own_mailbox_condition_failing_alone(
    case: str, condition: SelfApprovalCondition, unknown: Fact | None
) -> None:
    """Reference §4.1, the four conditions: each one failing on its own denies, and is
    reported as its own requirement."""
    actor = person()
    environment = online()
    target = mailbox(ME)
    if case == "upn-differs":
        actor = person(upn="someone.else@contoso.com")
    elif case == "upn-unknown":
        actor = person(upn=None)
    elif case == "email-unknown":
        target = mailbox(None)
    elif case == "setting-on":
        environment = online(require_privilege=True)
    elif case == "setting-unknown":
        environment = online(require_privilege=None)
    elif case == "no-write":
        actor = person(privileges={PRV_READ_MAILBOX: Depth.USER})
    elif case == "queue":
        target = mailbox(ME, kind=MailboxKind.QUEUE)
    decision = decide(Action.APPROVE_EMAIL, actor, environment, target)
    assert not decision.allowed
    own_path = next(p for p in decision.paths if p.rule == SELF_APPROVAL)
    assert own_path.missing == (SelfApprovalRequirement(condition, unknown),)
    if condition is not SelfApprovalCondition.UPN_MATCHES_MAILBOX:
        # On your own mailbox the own-mailbox rule is what the denial is explained by.
        assert decision.rule == SELF_APPROVAL
        assert decision.missing == own_path.missing


def test_setting_on_with_the_privilege_allows_own_mailbox() -> None:
    """Reference §4.1 condition 2: RequirePrivilegeToSelfApproveEmailAddress enabled is met by
    holding Approve Email Addresses for Users or Queues."""
    actor = person(direct=[BASIC_USER, EMAIL_APPROVER])
    decision = decide(Action.APPROVE_EMAIL, actor, online(require_privilege=True), mailbox(ME))
    assert decision.allowed
    assert decision.rule == SELF_APPROVAL


def test_privilege_alone_does_not_approve_others() -> None:
    """Seed "Setujui email": the privilege *and* the table; pria (privilege, no table
    roles) cannot approve someone else's mailbox."""
    actor = person(direct=[BASIC_USER, EMAIL_APPROVER])
    decision = decide(Action.APPROVE_EMAIL, actor, online(), mailbox())
    assert not decision.allowed
    assert decision.rule.id == "online/exchange-online/none"


def test_rejecting_your_own_address_needs_the_table() -> None:
    """Reference §4.1: the own-mailbox rule is about approving; rejecting goes by the
    table (this model's reading)."""
    decision = decide(Action.REJECT_EMAIL, person(), online(), mailbox(ME))
    assert not decision.allowed
    assert SELF_APPROVAL not in [p.rule for p in decision.paths]


# --- team-held roles ------------------------------------------------------------------


def test_team_held_delegated_approver_does_not_count() -> None:
    """Seed "Mendelegasikan persetujuan kotak pesan": the role cannot be assigned to
    teams, so holding it through a team makes no one a Delegated Mailbox Approver."""
    actor = person(direct=[SYSTEM_ADMIN], team=[DELEGATED_APPROVER])
    decision = decide(Action.APPROVE_EMAIL, actor, online(), mailbox())
    assert not decision.allowed
    dma_path = next(p for p in decision.paths if p.rule.id.endswith("/dma+sa"))
    assert dma_path.missing == (DMA_REQUIREMENT,)


def test_team_held_system_administrator_counts() -> None:
    """Reference §8 (roles via teams): System Administrator through a team counts, for the
    role and for the privileges it brings (tess in the fixture: Exchange admin through a
    group, System Administrator through a team)."""
    tess = person(entra=[EA], direct=[BASIC_USER], team=[SYSTEM_ADMIN])
    assert decide(Action.APPROVE_EMAIL, tess, online(), mailbox()).allowed
    direct_dma = person(direct=[DELEGATED_APPROVER], team=[SYSTEM_ADMIN])
    decision = decide(Action.APPROVE_EMAIL, direct_dma, online(), mailbox())
    assert decision.allowed
    assert decision.rule.id == "online/exchange-online/dma+sa"


def test_system_administrator_is_matched_by_template_not_name() -> None:
    """Reference §8: System Administrator is identified by role template 627090ff-…; a copy
    named "System Administrator" without the template is not it."""
    from permissions import RoleRef

    impostor = RoleRef("System Administrator", None)
    actor = person(
        entra=[GA], direct=[impostor], privileges={PRV_APPROVE_REJECT_EMAIL: Depth.USER}
    )
    decision = decide(Action.APPROVE_EMAIL, actor, online(), mailbox())
    assert not decision.allowed
    assert decision.missing == (SA_REQUIREMENT,)


# --- flags -------------------------------------------------------------------------------


def test_already_approved_is_a_flagged_no_op() -> None:
    """Reference §4.2: an external app may approve only a row that "isn't already approved";
    the decision stays a permission answer and flags the no-op."""
    target = mailbox(approval=ApprovalState.APPROVED)
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    allowed = decide(Action.APPROVE_EMAIL, gina, online(), target)
    assert allowed.allowed
    assert Flag.ALREADY_APPROVED in allowed.flags
    denied = decide(Action.APPROVE_EMAIL, person(), online(), target)
    assert not denied.allowed
    assert Flag.ALREADY_APPROVED in denied.flags
    rejected = decide(
        Action.REJECT_EMAIL, gina, online(), mailbox(approval=ApprovalState.REJECTED)
    )
    assert rejected.allowed
    assert rejected.flags == frozenset({Flag.ALREADY_REJECTED})


def test_queue_mailbox_by_table() -> None:
    """Seed: the privilege is "for Users or Queues"; the table applies to queues too."""
    eddie = person(entra=[EA], direct=[SYSTEM_ADMIN])
    queue = mailbox("support@contoso.com", kind=MailboxKind.QUEUE)
    for action in (Action.APPROVE_EMAIL, Action.REJECT_EMAIL):
        decision = decide(action, eddie, online(), queue)
        assert decision.allowed
        assert decision.rule.id == "online/exchange-online/ea+sa"


@pytest.mark.parametrize("servertype", [1, 4])
def test_pop3_and_imap_follow_the_system_admin_rule(servertype: int) -> None:
    """Reference §2 note: 1 and 4 are not Exchange; approval follows the on-premises rows'
    System-admin rule (footnote ² recommends the Exchange admin)."""
    decision = decide(
        Action.APPROVE_EMAIL,
        person(direct=[SYSTEM_ADMIN]),
        online(),
        mailbox(servertype=servertype),
    )
    assert decision.allowed
    assert decision.rule.id == "online/exchange-onprem/sa"
    assert decision.flags == frozenset({Flag.NOT_EXCHANGE, Flag.INCLUDE_EXCHANGE_ADMIN})


def test_no_profile_takes_the_deployment_default() -> None:
    """Reference §2 (automatic "Microsoft Exchange Online" profile): no profile online reads
    as Exchange Online, on-premises as Exchange on-premises."""
    sam = person(direct=[SYSTEM_ADMIN])
    assert not decide(Action.APPROVE_EMAIL, sam, online(), mailbox(servertype=None)).allowed
    decision = decide(Action.APPROVE_EMAIL, sam, onprem(), mailbox(servertype=None))
    assert decision.rule.id == "onprem/exchange-onprem/sa"


# --- missing facts and deny by default --------------------------------------------------


def test_unknown_servertype_denies() -> None:
    """Reference §2: servertype values are 0–4; an unknown one is not guessed at."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    decision = decide(Action.APPROVE_EMAIL, gina, online(), mailbox(servertype=7))
    assert not decision.allowed
    assert decision.rule == MISSING_FACTS
    assert decision.missing == (KnownServerTypeRequirement(7),)


def test_unknown_deployment_denies() -> None:
    """Brief: missing facts deny with a clear reason (no row can be chosen)."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    decision = decide(Action.APPROVE_EMAIL, gina, Environment(None, "9.2.25093.1"), mailbox())
    assert not decision.allowed
    assert decision.missing == (KnownFactRequirement(Fact.DEPLOYMENT),)


def test_missing_or_wrong_target_denies() -> None:
    """Brief: deny by default when the mailbox is not given."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    assert decide(Action.APPROVE_EMAIL, gina, online()).rule == MISSING_FACTS
    wrong = decide(Action.APPROVE_EMAIL, gina, online(), RoleAssignmentTarget(PrincipalKind.USER))
    assert wrong.rule == WRONG_TARGET
    assert not wrong.allowed


def test_unknown_entra_roles() -> None:
    """Brief: when Graph could not be read the Entra columns are unmet; the Delegated
    Mailbox Approver column needs no Entra role and still works."""
    sam = person(direct=[SYSTEM_ADMIN], entra_known=False)
    decision = decide(Action.APPROVE_EMAIL, sam, online(), mailbox())
    assert not decision.allowed
    assert decision.missing == (KnownFactRequirement(Fact.ACTOR_ENTRA_ROLES),)
    dana = person(direct=DMA_SA, entra_known=False)
    assert decide(Action.APPROVE_EMAIL, dana, online(), mailbox()).allowed


def test_global_admin_without_system_admin() -> None:
    """Seed row 1, "Global admin alone: No" (gary in the fixture): the cell is shown and
    System Administrator is what is missing."""
    gary = person(entra=[GA], direct=[BASIC_USER], privileges={PRV_WRITE_MAILBOX: Depth.USER})
    decision = decide(Action.APPROVE_EMAIL, gary, online(), mailbox())
    assert decision.rule.id == "online/exchange-online/ga"
    assert decision.missing == (SA_REQUIREMENT, PrivilegeRequirement(PRV_APPROVE_REJECT_EMAIL))
    text = decision.explain()
    assert "Denied" in text
    assert "online/exchange-online/ga" in text
    assert "Global admin and System admin" in text


def test_onprem_environment_ignores_entra() -> None:
    """Seed rows 3–4: only System admin is named; Deployment on-premises."""
    decision = decide(Action.APPROVE_EMAIL, person(direct=[SYSTEM_ADMIN]), onprem(), mailbox())
    assert decision.allowed
    assert decision.row is not None
    assert decision.row.deployment is Deployment.ONPREM
