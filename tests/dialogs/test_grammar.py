"""Phrasings → typed commands, in English and Indonesian (dialogs/grammar.py)."""

from __future__ import annotations

import logging
import timeit

import pytest

from dialogs import grammar
from dialogs.commands import (
    AddDelegatedApprover,
    Alerts,
    ApplyDefaultSettings,
    ApprovalScope,
    Approve,
    Audit,
    BaseCommand,
    CommandKind,
    CreateProfile,
    DeliveryMethod,
    FailingMailboxes,
    Help,
    MyRequests,
    PendingApprovals,
    PointProfileToChina,
    ProfileAuthentication,
    Reject,
    RemoveDelegatedApprover,
    RequestApproval,
    SetApprovalRequirement,
    SetDefaultEmailSettings,
    SetDefaultProfile,
    SetDeliveryMethods,
    SetOnCallChannel,
    ShowEmailSettings,
    Status,
    SyncFromThisOrgOnly,
    TestAndEnable,
    TestProfile,
    Undo,
    UseProfile,
    WhoIsOnCall,
    Why,
)
from dialogs.grammar import (
    MAX_INPUT_CHARS,
    EmptyInputError,
    InputTooLongError,
    ParseError,
    UsageError,
    UsageErrorCode,
    parse,
)

SSS = DeliveryMethod.SERVER_SIDE_SYNC
EXO = "Microsoft Exchange Online"

ENGLISH: list[tuple[str, BaseCommand]] = [
    # approve: word orders, multiple targets, emails
    ("approve mailbox for alice", Approve(targets=("alice",))),
    ("approve alice", Approve(targets=("alice",))),
    ("approve the mailbox of alice", Approve(targets=("alice",))),
    ("approve mailbox alice", Approve(targets=("alice",))),
    ("approve email for alice", Approve(targets=("alice",))),
    ("approve alice's mailbox", Approve(targets=("alice",))),
    ("approve support@contoso.com", Approve(targets=("support@contoso.com",))),
    ("approve alice, bob and carol", Approve(targets=("alice", "bob", "carol"))),
    ("approve alice, bob, and carol", Approve(targets=("alice", "bob", "carol"))),
    ("approve alice and bob", Approve(targets=("alice", "bob"))),
    ("approve mailboxes for alice and bob", Approve(targets=("alice", "bob"))),
    ("approve Alice Anders", Approve(targets=("Alice Anders",))),
    ("accept alice", Approve(targets=("alice",))),
    # reject
    ("reject alice", Reject(targets=("alice",))),
    ("reject mailbox for alice", Reject(targets=("alice",))),
    ("deny bob", Reject(targets=("bob",))),
    # test and enable
    ("test mailbox bob", TestAndEnable(targets=("bob",))),
    ("test and enable bob", TestAndEnable(targets=("bob",))),
    ("test & enable bob", TestAndEnable(targets=("bob",))),
    ("test bob", TestAndEnable(targets=("bob",))),
    (
        "test and enable mailbox for support@contoso.com",
        TestAndEnable(targets=("support@contoso.com",)),
    ),
    # status
    ("status of alice", Status(target="alice")),
    ("status alice", Status(target="alice")),
    ("show mailbox alice", Status(target="alice")),
    ("show alice", Status(target="alice")),
    ("show status of mailbox alice", Status(target="alice")),
    ("what's the status of alice", Status(target="alice")),
    ("how is alice doing", Status(target="alice")),
    ("check status of alice", Status(target="alice")),
    # alerts
    ("alerts for bob", Alerts(target="bob")),
    ("show alerts for bob", Alerts(target="bob")),
    ("alerts bob", Alerts(target="bob")),
    ("alerts of mailbox bob", Alerts(target="bob")),
    # lists
    ("pending approvals", PendingApprovals()),
    ("show pending", PendingApprovals()),
    ("list pending approval requests", PendingApprovals()),
    ("what's pending", PendingApprovals()),
    ("my requests", MyRequests()),
    ("show my pending requests", MyRequests()),
    ("failing mailboxes", FailingMailboxes()),
    ("which mailboxes are failing", FailingMailboxes()),
    ("show failed mailboxes", FailingMailboxes()),
    # default settings, delivery methods, profiles
    ("apply default settings to alice", ApplyDefaultSettings(targets=("alice",))),
    (
        "apply the default email settings to alice and bob",
        ApplyDefaultSettings(targets=("alice", "bob")),
    ),
    ("apply defaults to mailbox alice", ApplyDefaultSettings(targets=("alice",))),
    (
        "set incoming email for alice to server-side sync",
        SetDeliveryMethods(targets=("alice",), incoming=SSS),
    ),
    (
        "set incoming for alice to server side synchronization",
        SetDeliveryMethods(targets=("alice",), incoming=SSS),
    ),
    (
        "set incoming email for alice to server-side synchronization or email router",
        SetDeliveryMethods(targets=("alice",), incoming=SSS),
    ),
    (
        "set outgoing email for alice to none",
        SetDeliveryMethods(targets=("alice",), outgoing=DeliveryMethod.NONE),
    ),
    (
        "set incoming email of alice to forward mailbox",
        SetDeliveryMethods(targets=("alice",), incoming=DeliveryMethod.FORWARD_MAILBOX),
    ),
    (
        "set appointments, contacts and tasks for bob to outlook",
        SetDeliveryMethods(targets=("bob",), act=DeliveryMethod.OUTLOOK),
    ),
    ("set act for bob to sss", SetDeliveryMethods(targets=("bob",), act=SSS)),
    (
        "change incoming and outgoing email for alice and bob to server-side sync",
        SetDeliveryMethods(targets=("alice", "bob"), incoming=SSS, outgoing=SSS),
    ),
    (
        "set alice incoming email to dynamics 365 for outlook",
        SetDeliveryMethods(targets=("alice",), incoming=DeliveryMethod.OUTLOOK),
    ),
    (
        "set all delivery methods for alice to server-side sync",
        SetDeliveryMethods(targets=("alice",), incoming=SSS, outgoing=SSS, act=SSS),
    ),
    ("use profile P for alice", UseProfile(targets=("alice",), profile="P")),
    (f"use profile {EXO} for alice", UseProfile(targets=("alice",), profile=EXO)),
    (f"use profile {EXO} for alice and bob", UseProfile(targets=("alice", "bob"), profile=EXO)),
    ("set profile of alice to Contoso EXO", UseProfile(targets=("alice",), profile="Contoso EXO")),
    ("set server profile for alice to P", UseProfile(targets=("alice",), profile="P")),
    ("sync alice from this org only", SyncFromThisOrgOnly(targets=("alice",))),
    ("sync alice only from this organization", SyncFromThisOrgOnly(targets=("alice",))),
    ("sync alice with exchange from this org only", SyncFromThisOrgOnly(targets=("alice",))),
    (
        "don't sync alice from this org only",
        SyncFromThisOrgOnly(targets=("alice",), enabled=False),
    ),
    (f"test all mailboxes in profile {EXO}", TestProfile(profile=EXO)),
    ("test all mailboxes in the Contoso EXO profile", TestProfile(profile="Contoso EXO")),
    ("test and enable all mailboxes of profile P", TestProfile(profile="P")),
    ("test profile P", TestProfile(profile="P")),
    ("create exchange online profile Contoso EXO", CreateProfile(name="Contoso EXO")),
    ("create profile P", CreateProfile(name="P")),
    ("create a new exchange online profile called P", CreateProfile(name="P")),
    (
        "create exchange online profile P cross tenant",
        CreateProfile(name="P", authentication=ProfileAuthentication.OAUTH),
    ),
    (
        "create exchange online profile P with oauth",
        CreateProfile(name="P", authentication=ProfileAuthentication.OAUTH),
    ),
    ("create exchange online profile P same tenant", CreateProfile(name="P")),
    ("create exchange online profile P using server to server", CreateProfile(name="P")),
    (f"make {EXO} the default profile", SetDefaultProfile(profile=EXO)),
    ("make P default", SetDefaultProfile(profile="P")),
    ("make profile P the default", SetDefaultProfile(profile="P")),
    ("set default profile to P", SetDefaultProfile(profile="P")),
    ("set P as the default profile", SetDefaultProfile(profile="P")),
    ("use P as default profile", SetDefaultProfile(profile="P")),
    ("show email settings", ShowEmailSettings()),
    ("email settings", ShowEmailSettings()),
    ("show the org email settings", ShowEmailSettings()),
    (
        "set default email settings incoming server-side sync outgoing server-side sync "
        f"act server-side sync profile {EXO}",
        SetDefaultEmailSettings(incoming=SSS, outgoing=SSS, act=SSS, profile=EXO),
    ),
    (
        f"set default email settings profile {EXO}, act none, incoming to outlook",
        SetDefaultEmailSettings(
            profile=EXO, act=DeliveryMethod.NONE, incoming=DeliveryMethod.OUTLOOK
        ),
    ),
    ("set default email settings outgoing sss", SetDefaultEmailSettings(outgoing=SSS)),
    (
        "set default email settings to server-side sync",
        SetDefaultEmailSettings(incoming=SSS, outgoing=SSS, act=SSS),
    ),
    # approval requirement
    (
        "turn off approval for users",
        SetApprovalRequirement(scope=ApprovalScope.USERS, required=False),
    ),
    (
        "turn off approval for queues",
        SetApprovalRequirement(scope=ApprovalScope.QUEUES, required=False),
    ),
    (
        "turn off approval for both",
        SetApprovalRequirement(scope=ApprovalScope.BOTH, required=False),
    ),
    (
        "turn approval off for users and queues",
        SetApprovalRequirement(scope=ApprovalScope.BOTH, required=False),
    ),
    (
        "disable mailbox approval for queues",
        SetApprovalRequirement(scope=ApprovalScope.QUEUES, required=False),
    ),
    (
        "remove the approval requirement for users",
        SetApprovalRequirement(scope=ApprovalScope.USERS, required=False),
    ),
    (
        "don't require approval for queues",
        SetApprovalRequirement(scope=ApprovalScope.QUEUES, required=False),
    ),
    (
        "require approval for users",
        SetApprovalRequirement(scope=ApprovalScope.USERS, required=True),
    ),
    ("turn on approval for both", SetApprovalRequirement(scope=ApprovalScope.BOTH, required=True)),
    # delegated approvers
    ("make dana a delegated approver", AddDelegatedApprover(people=("dana",))),
    ("make dana a delegated mailbox approver", AddDelegatedApprover(people=("dana",))),
    ("make dana and eddie delegated approvers", AddDelegatedApprover(people=("dana", "eddie"))),
    ("add dana as delegated approver", AddDelegatedApprover(people=("dana",))),
    ("assign the delegated approver role to dana", AddDelegatedApprover(people=("dana",))),
    ("remove dana as delegated approver", RemoveDelegatedApprover(people=("dana",))),
    ("remove delegated approver dana", RemoveDelegatedApprover(people=("dana",))),
    ("remove dana from delegated approvers", RemoveDelegatedApprover(people=("dana",))),
    ("revoke the delegated approver role from dana", RemoveDelegatedApprover(people=("dana",))),
    # china
    ("point profile P to china", PointProfileToChina(profile="P")),
    ("point Contoso EXO to 21vianet", PointProfileToChina(profile="Contoso EXO")),
    # why
    ("why can't I approve alice", Why(command=Approve(targets=("alice",)))),
    ("why cannot i approve alice", Why(command=Approve(targets=("alice",)))),
    ("why can i not approve alice", Why(command=Approve(targets=("alice",)))),
    ("why can't I test bob", Why(command=TestAndEnable(targets=("bob",)))),
    ("why can’t I reject bob", Why(command=Reject(targets=("bob",)))),
    (
        "why am I not allowed to turn off approval for users",
        Why(command=SetApprovalRequirement(scope=ApprovalScope.USERS, required=False)),
    ),
    (
        "why can't I make dana a delegated approver",
        Why(command=AddDelegatedApprover(people=("dana",))),
    ),
    # help
    ("help", Help()),
    ("help approve", Help(topic=CommandKind.APPROVE, query="approve")),
    ("help test", Help(topic=CommandKind.TEST_AND_ENABLE, query="test")),
    ("help me", Help(query="me")),
    ("?", Help()),
    ("??", Help()),
    ("what can you do", Help()),
    # for later issues
    ("audit for alice", Audit(target="alice")),
    ("audit alice", Audit(target="alice")),
    ("audit last 20", Audit(limit=20)),
    ("audit last 20 for alice", Audit(target="alice", limit=20)),
    ("audit for alice last 5", Audit(target="alice", limit=5)),
    ("audit", Audit()),
    ("show audit log for alice", Audit(target="alice")),
    ("audit for organization", Audit(organization=True)),
    ("audit for the organisation", Audit(organization=True)),
    ("audit for org settings", Audit(organization=True)),
    ("audit for the org's email settings", Audit(organization=True)),
    ("audit for email settings", Audit(organization=True)),
    ("audit org last 5", Audit(organization=True, limit=5)),
    ("audit last 5 for organization", Audit(organization=True, limit=5)),
    ("audit for email alice", Audit(target="alice")),
    ('audit for "organization"', Audit(target="organization")),  # a mailbox called that
    ("undo last change to alice", Undo(target="alice")),
    ("undo the last change for alice", Undo(target="alice")),
    ("undo alice", Undo(target="alice")),
    ("who is on call", WhoIsOnCall()),
    ("who's on-call", WhoIsOnCall()),
    ("set on-call channel here", SetOnCallChannel()),
    ("set the on call channel to this channel", SetOnCallChannel()),
    ("use this channel for on-call", SetOnCallChannel()),
    ("make this the on-call channel", SetOnCallChannel()),
    (
        "request approval for alice because she starts on Monday",
        RequestApproval(targets=("alice",), reason="she starts on Monday"),
    ),
    ("request approval for alice", RequestApproval(targets=("alice",))),
    ("ask for approval of alice and bob", RequestApproval(targets=("alice", "bob"))),
    (
        "request approval to approve mailbox for alice because: new hire, sales team",
        RequestApproval(targets=("alice",), reason="new hire, sales team"),
    ),
]

INDONESIAN: list[tuple[str, BaseCommand]] = [
    ("setujui kotak pesan alice", Approve(targets=("alice",))),
    ("setujui alice", Approve(targets=("alice",))),
    ("setujui kotak surat untuk alice", Approve(targets=("alice",))),
    ("setujui alamat email alice", Approve(targets=("alice",))),
    ("setujui alice dan bob", Approve(targets=("alice", "bob"))),
    ("setujui alice, bob, dan carol", Approve(targets=("alice", "bob", "carol"))),
    ("menyetujui kotak pesan alice", Approve(targets=("alice",))),
    ("tolak kotak pesan alice", Reject(targets=("alice",))),
    ("tolak alice", Reject(targets=("alice",))),
    ("uji kotak pesan bob", TestAndEnable(targets=("bob",))),
    ("uji dan aktifkan bob", TestAndEnable(targets=("bob",))),
    ("uji & aktifkan kotak pesan bob", TestAndEnable(targets=("bob",))),
    ("tes bob", TestAndEnable(targets=("bob",))),
    ("status kotak pesan alice", Status(target="alice")),
    ("lihat status alice", Status(target="alice")),
    ("tampilkan kotak pesan alice", Status(target="alice")),
    ("bagaimana status alice", Status(target="alice")),
    ("peringatan untuk bob", Alerts(target="bob")),
    ("peringatan bob", Alerts(target="bob")),
    ("tampilkan peringatan kotak pesan bob", Alerts(target="bob")),
    ("persetujuan tertunda", PendingApprovals()),
    ("tampilkan persetujuan yang tertunda", PendingApprovals()),
    ("permintaan saya", MyRequests()),
    ("kotak pesan yang gagal", FailingMailboxes()),
    ("tampilkan kotak pesan yang gagal", FailingMailboxes()),
    ("kotak pesan mana yang gagal", FailingMailboxes()),
    ("terapkan pengaturan default ke alice", ApplyDefaultSettings(targets=("alice",))),
    (
        "terapkan pengaturan email default ke alice dan bob",
        ApplyDefaultSettings(targets=("alice", "bob")),
    ),
    (
        "atur email masuk untuk alice ke sinkronisasi sisi server",
        SetDeliveryMethods(targets=("alice",), incoming=SSS),
    ),
    (
        "ubah email keluar untuk alice menjadi tidak ada",
        SetDeliveryMethods(targets=("alice",), outgoing=DeliveryMethod.NONE),
    ),
    (
        "atur janji temu, kontak, dan tugas untuk bob ke sinkronisasi sisi server",
        SetDeliveryMethods(targets=("bob",), act=SSS),
    ),
    (
        "atur email masuk dan keluar untuk bob ke sinkronisasi sisi server atau router email",
        SetDeliveryMethods(targets=("bob",), incoming=SSS, outgoing=SSS),
    ),
    (
        "atur email masuk untuk bob ke kotak pesan penerusan",
        SetDeliveryMethods(targets=("bob",), incoming=DeliveryMethod.FORWARD_MAILBOX),
    ),
    ("gunakan profil P untuk alice", UseProfile(targets=("alice",), profile="P")),
    (f"gunakan profil {EXO} untuk alice", UseProfile(targets=("alice",), profile=EXO)),
    ("atur profil server untuk alice ke P", UseProfile(targets=("alice",), profile="P")),
    ("sinkronkan alice hanya dari organisasi ini", SyncFromThisOrgOnly(targets=("alice",))),
    ("sinkronkan alice dari organisasi ini saja", SyncFromThisOrgOnly(targets=("alice",))),
    (
        "jangan sinkronkan alice hanya dari organisasi ini",
        SyncFromThisOrgOnly(targets=("alice",), enabled=False),
    ),
    ("uji semua kotak pesan di profil P", TestProfile(profile="P")),
    (f"uji semua kotak pesan dalam profil {EXO}", TestProfile(profile=EXO)),
    ("uji profil P", TestProfile(profile="P")),
    ("buat profil exchange online P", CreateProfile(name="P")),
    ("buat profil baru bernama P", CreateProfile(name="P")),
    (
        "buat profil exchange online P lintas penyewa",
        CreateProfile(name="P", authentication=ProfileAuthentication.OAUTH),
    ),
    ("buat profil exchange online P penyewa yang sama", CreateProfile(name="P")),
    ("jadikan P profil default", SetDefaultProfile(profile="P")),
    ("jadikan P sebagai profil default", SetDefaultProfile(profile="P")),
    ("jadikan profil P sebagai default", SetDefaultProfile(profile="P")),
    ("atur profil default ke P", SetDefaultProfile(profile="P")),
    ("tampilkan pengaturan email", ShowEmailSettings()),
    ("pengaturan email", ShowEmailSettings()),
    (
        "atur pengaturan email default email masuk sinkronisasi sisi server "
        "email keluar sinkronisasi sisi server "
        f"janji temu, kontak, dan tugas sinkronisasi sisi server profil {EXO}",
        SetDefaultEmailSettings(incoming=SSS, outgoing=SSS, act=SSS, profile=EXO),
    ),
    (
        "ubah pengaturan email default: email keluar ke tidak ada",
        SetDefaultEmailSettings(outgoing=DeliveryMethod.NONE),
    ),
    (
        "matikan persetujuan untuk pengguna",
        SetApprovalRequirement(scope=ApprovalScope.USERS, required=False),
    ),
    (
        "matikan persetujuan untuk antrean",
        SetApprovalRequirement(scope=ApprovalScope.QUEUES, required=False),
    ),
    (
        "nonaktifkan persetujuan untuk keduanya",
        SetApprovalRequirement(scope=ApprovalScope.BOTH, required=False),
    ),
    (
        "hapus persyaratan persetujuan untuk pengguna dan antrean",
        SetApprovalRequirement(scope=ApprovalScope.BOTH, required=False),
    ),
    (
        "wajibkan persetujuan untuk pengguna",
        SetApprovalRequirement(scope=ApprovalScope.USERS, required=True),
    ),
    ("jadikan dana pemberi persetujuan kotak pesan", AddDelegatedApprover(people=("dana",))),
    (
        "jadikan dana pemberi persetujuan kotak pesan yang didelegasikan",
        AddDelegatedApprover(people=("dana",)),
    ),
    (
        "tambahkan dana sebagai pemberi izin kotak pesan delegasi",
        AddDelegatedApprover(people=("dana",)),
    ),
    ("hapus dana dari pemberi persetujuan", RemoveDelegatedApprover(people=("dana",))),
    ("hapus pemberi persetujuan dana", RemoveDelegatedApprover(people=("dana",))),
    ("arahkan profil P ke tiongkok", PointProfileToChina(profile="P")),
    ("kenapa saya tidak bisa menyetujui alice", Why(command=Approve(targets=("alice",)))),
    ("mengapa saya tidak dapat menyetujui alice", Why(command=Approve(targets=("alice",)))),
    ("kenapa aku gak bisa uji bob", Why(command=TestAndEnable(targets=("bob",)))),
    ("bantuan", Help()),
    ("bantuan setujui", Help(topic=CommandKind.APPROVE, query="setujui")),
    ("apa yang bisa kamu lakukan", Help()),
    ("audit untuk alice", Audit(target="alice")),
    ("audit 20 terakhir", Audit(limit=20)),
    ("audit 20 entri terakhir untuk alice", Audit(target="alice", limit=20)),
    ("audit untuk organisasi", Audit(organization=True)),
    ("audit untuk pengaturan organisasi", Audit(organization=True)),
    ("tampilkan log audit pengaturan email organisasi", Audit(organization=True)),
    ("audit 5 entri terakhir untuk organisasi", Audit(organization=True, limit=5)),
    ("batalkan perubahan terakhir pada alice", Undo(target="alice")),
    ("urungkan alice", Undo(target="alice")),
    ("siapa yang piket", WhoIsOnCall()),
    ("siapa yang sedang on-call", WhoIsOnCall()),
    ("atur kanal on-call di sini", SetOnCallChannel()),
    ("gunakan kanal ini untuk on-call", SetOnCallChannel()),
    ("jadikan kanal ini kanal on-call", SetOnCallChannel()),
    (
        "minta persetujuan untuk alice karena karyawan baru",
        RequestApproval(targets=("alice",), reason="karyawan baru"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH, ids=[t for t, _ in ENGLISH])
def test_english(text: str, expected: BaseCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "expected"), INDONESIAN, ids=[t for t, _ in INDONESIAN])
def test_indonesian(text: str, expected: BaseCommand) -> None:
    expected = _in_language(expected, "id")
    assert parse(text) == expected


def _in_language(command: BaseCommand, language: str) -> BaseCommand:
    update: dict[str, object] = {"language": language}
    if isinstance(command, Why):
        update["command"] = command.command.model_copy(update={"language": language})
    return command.model_copy(update=update)


@pytest.mark.parametrize(
    "text",
    [
        "APPROVE MAILBOX FOR alice",
        "Approve Mailbox For alice",
        "  approve    mailbox   for   alice  ",
        "approve mailbox for alice.",
        "approve mailbox for alice!",
        "approve: mailbox for alice?",
        "please approve mailbox for alice",
        "please, approve mailbox for alice",
        "approve mailbox for alice please",
        "approve mailbox for alice, please",
        "approve mailbox for alice, thanks!",
        "kindly approve alice",
        "can you approve alice?",
        "could you please approve alice",
        "approve\u00a0alice",
        "approve\u200b alice",
        "approve\talice\n",
    ],
)
def test_case_punctuation_space_and_politeness(text: str) -> None:
    assert parse(text) == Approve(targets=("alice",))


@pytest.mark.parametrize(
    "text",
    [
        "tolong setujui alice",
        "mohon setujui alice",
        "setujui alice ya",
        "tolong setujui alice dong",
        "silakan setujui alice",
    ],
)
def test_indonesian_politeness(text: str) -> None:
    assert parse(text) == Approve(targets=("alice",), language="id")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("approve alice in prod", Approve(targets=("alice",), environment="prod")),
        (
            "approve alice and bob in prod please",
            Approve(targets=("alice", "bob"), environment="prod"),
        ),
        ("setujui alice di prod", Approve(targets=("alice",), environment="prod", language="id")),
        (
            "status of alice in environment contoso-test",
            Status(target="alice", environment="contoso-test"),
        ),
        ("status of alice in the test environment", Status(target="alice", environment="test")),
        ('pending approvals in "Contoso (prod)"', PendingApprovals(environment="Contoso (prod)")),
        (
            "persetujuan tertunda di lingkungan prod",
            PendingApprovals(environment="prod", language="id"),
        ),
        (
            "why can't I approve alice in prod",
            Why(command=Approve(targets=("alice",), environment="prod"), environment="prod"),
        ),
        (
            "request approval for alice in prod because new hire",
            RequestApproval(targets=("alice",), reason="new hire", environment="prod"),
        ),
        (
            "test all mailboxes in profile P in prod",
            TestProfile(profile="P", environment="prod"),
        ),
        ("audit last 20 in prod", Audit(limit=20, environment="prod")),
        ("audit for organization in prod", Audit(organization=True, environment="prod")),
    ],
)
def test_environment_suffix(text: str, expected: BaseCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'use profile "Microsoft Exchange Online" for alice',
            UseProfile(targets=("alice",), profile=EXO),
        ),
        (
            "use profile 'Contoso Exchange (on-premises)' for bob",
            UseProfile(targets=("bob",), profile="Contoso Exchange (on-premises)"),
        ),
        (
            "use profile Contoso Exchange (on-premises) for bob",
            UseProfile(targets=("bob",), profile="Contoso Exchange (on-premises)"),
        ),
        ("approve “Alice Anders”", Approve(targets=("Alice Anders",))),
        ("approve ‘Alice Anders’", Approve(targets=("Alice Anders",))),
        ('approve "Sales and Marketing", bob', Approve(targets=("Sales and Marketing", "bob"))),
        ('approve "  padded  "', Approve(targets=("padded",))),
        ('approve "in prod" in prod', Approve(targets=("in prod",), environment="prod")),
        ("approve 'test'", Approve(targets=("test",))),
        ("approve test", Approve(targets=("test",))),
        ("approve o'brien", Approve(targets=("o'brien",))),
        ("approve o’brien", Approve(targets=("o’brien",))),
        ("approve José Müller", Approve(targets=("José Müller",))),
        (
            "approve alice.anders@contoso.onmicrosoft.com",
            Approve(targets=("alice.anders@contoso.onmicrosoft.com",)),
        ),
        ("approve Support 2", Approve(targets=("Support 2",))),
        ("approve 12345", Approve(targets=("12345",))),
        ("approve alice  anders", Approve(targets=("alice  anders",))),
        ('make "Contoso EXO" the default profile', SetDefaultProfile(profile="Contoso EXO")),
    ],
)
def test_names_are_kept_as_typed(text: str, expected: BaseCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("approve alice' or 1 eq 1", "alice' or 1 eq 1"),
        ('approve "alice\' or 1 eq 1"', "alice' or 1 eq 1"),
        ("approve alice'); drop table users", "alice'); drop table users"),
        ("approve $filter=name eq x", "$filter=name eq x"),
        ("approve ../../etc/passwd", "../../etc/passwd"),
        ("approve <script>alert(1)</script>", "<script>alert(1)</script>"),
        ("approve %27%20or%201%20eq%201", "%27%20or%201%20eq%201"),
    ],
)
def test_hostile_names_are_one_literal_name(text: str, target: str) -> None:
    assert parse(text) == Approve(targets=(target,))


@pytest.mark.parametrize(
    "text",
    [
        "approve 'alice",  # an unterminated quote
        'approve "alice',
        "approve alice' or '1'='1",  # a quoted part inside a bare name
        "approve $filter=name eq 'x'",
        "approve",
        "approve mailbox for",
        "approve alice,",
        "use profile for alice",
        "turn off approval",
        "xyzzy",
        "",  # replaced below: empty input is its own error
    ][:-1],
)
def test_unreadable_requests_raise_parse_error(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.code is UsageErrorCode.UNKNOWN_COMMAND
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('approve ""', UsageErrorCode.EMPTY_NAME),
        ("approve alice and '  '", UsageErrorCode.EMPTY_NAME),
        ("make P and Q the default profile", UsageErrorCode.ONE_NAME_ONLY),
        ("set outgoing email for bob to forward mailbox", UsageErrorCode.INVALID_ARGUMENT),
        ("set act for bob to forward", UsageErrorCode.INVALID_ARGUMENT),
        ("set default email settings to forward mailbox", UsageErrorCode.INVALID_ARGUMENT),
        (
            "set default email settings incoming sss incoming none",
            UsageErrorCode.DUPLICATE_SETTING,
        ),
        ("audit last twenty", UsageErrorCode.INVALID_ARGUMENT),
        ("audit last 0", UsageErrorCode.INVALID_ARGUMENT),
        ("audit last ２０", UsageErrorCode.INVALID_ARGUMENT),
    ],
)
def test_recognized_but_unusable_arguments(text: str, code: UsageErrorCode) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert not isinstance(caught.value, ParseError)
    assert caught.value.code is code
    assert caught.value.kind is not None or code is UsageErrorCode.EMPTY_NAME


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "\u200b"])
def test_empty_input(text: str) -> None:
    with pytest.raises(EmptyInputError) as caught:
        parse(text)
    assert caught.value.code is UsageErrorCode.EMPTY


def test_over_long_input_is_refused_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_parse() -> None:
        pytest.fail("the parser ran on an over-long input")

    monkeypatch.setattr(grammar, "_parser", must_not_parse)
    text = "approve " + "a" * MAX_INPUT_CHARS
    with pytest.raises(InputTooLongError) as caught:
        parse(text)
    assert caught.value.code is UsageErrorCode.TOO_LONG
    assert caught.value.length == len(text)
    assert caught.value.limit == MAX_INPUT_CHARS


def test_input_at_the_limit_is_parsed() -> None:
    name = "a" * (MAX_INPUT_CHARS - len("approve "))
    assert parse(f"approve {name}") == Approve(targets=(name,))


def test_ten_thousand_characters() -> None:
    with pytest.raises(InputTooLongError):
        parse("x" * 10_000)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("approve alice", "en"),
        ("setujui alice", "id"),
        ("status alice", "en"),
        ("status kotak pesan alice", "id"),
        ("approve kotak pesan alice", "id"),
        ("approve dan", "en"),  # a person called Dan is not Indonesian
        ("setujui Approve", "id"),
        ("help", "en"),
        ("bantuan", "id"),
    ],
)
def test_language_of_the_phrasing(text: str, language: str) -> None:
    assert parse(text).language == language


def test_parse_error_speaks_the_language_of_the_request() -> None:
    with pytest.raises(ParseError) as caught:
        parse("setujui kotak psan alice")
    assert caught.value.language == "id"


def test_no_shift_reduce_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    lark_logger = logging.getLogger("lark")
    level = lark_logger.level
    lark_logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            grammar._build_parser(debug=True)
    finally:
        lark_logger.setLevel(level)
    conflicts = [r.getMessage() for r in caplog.records if "conflict" in r.getMessage().lower()]
    assert conflicts == []


def test_every_keyword_has_a_language() -> None:
    classified = grammar.ENGLISH_KEYWORDS | grammar.INDONESIAN_KEYWORDS | grammar.NEUTRAL_KEYWORDS
    assert grammar.keywords() == classified
    assert not grammar.ENGLISH_KEYWORDS & grammar.INDONESIAN_KEYWORDS
    assert not grammar.NEUTRAL_KEYWORDS & (grammar.ENGLISH_KEYWORDS | grammar.INDONESIAN_KEYWORDS)


def test_parsing_is_fast() -> None:
    grammar.prepare()
    runs = 200
    seconds = timeit.timeit(
        lambda: parse("approve mailbox for alice, bob and carol in prod"), number=runs
    )
    # Typically ~0.1 ms; the bound only catches a pathological regression (e.g. Earley).
    assert seconds / runs < 0.005
