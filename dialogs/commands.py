"""The typed commands a chat request parses into, and the registry of command kinds.

A command is a frozen pydantic model with a ``kind`` discriminator, the arguments as typed
(names stay raw strings for later resolution, never queries), the ``environment`` named by an
``… in prod`` suffix, and the ``language`` the request was phrased in (a hint only: the reply
language follows the Teams locale). :data:`COMMAND_ADAPTER` turns any command into JSON and
back, so that a pending approval or an audit entry can store the command itself.

:data:`REGISTRY` describes every kind once: its model, a short title, one-line help and usage
in English and Indonesian, and example phrasings that the grammar's tests parse. The help card
and the Teams manifest command list are generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

Language = Literal["en", "id"]
"""The language a request was phrased in."""

Name = Annotated[str, StringConstraints(min_length=1)]
"""A name as typed: a display name, UPN, email address or prefix, resolved later."""

Names = Annotated[tuple[Name, ...], Field(min_length=1)]


class CommandKind(StrEnum):
    """Every command the grammar knows; the value is the ``kind`` discriminator."""

    APPROVE = "approve"
    REJECT = "reject"
    TEST_AND_ENABLE = "test-and-enable"
    STATUS = "status"
    ALERTS = "alerts"
    PENDING_APPROVALS = "pending-approvals"
    MY_REQUESTS = "my-requests"
    FAILING_MAILBOXES = "failing-mailboxes"
    APPLY_DEFAULT_SETTINGS = "apply-default-settings"
    SET_DELIVERY_METHODS = "set-delivery-methods"
    USE_PROFILE = "use-profile"
    SYNC_FROM_THIS_ORG_ONLY = "sync-from-this-org-only"
    TEST_PROFILE = "test-profile"
    CREATE_PROFILE = "create-profile"
    SET_DEFAULT_PROFILE = "set-default-profile"
    SHOW_EMAIL_SETTINGS = "show-email-settings"
    SET_DEFAULT_EMAIL_SETTINGS = "set-default-email-settings"
    SET_APPROVAL_REQUIREMENT = "set-approval-requirement"
    ADD_DELEGATED_APPROVER = "add-delegated-approver"
    REMOVE_DELEGATED_APPROVER = "remove-delegated-approver"
    POINT_PROFILE_TO_CHINA = "point-profile-to-china"
    WHY = "why"
    HELP = "help"
    AUDIT = "audit"
    UNDO = "undo"
    WHO_IS_ON_CALL = "who-is-on-call"
    SET_ON_CALL_CHANNEL = "set-on-call-channel"
    REQUEST_APPROVAL = "request-approval"


class DeliveryChannel(StrEnum):
    """The three synchronization methods of a mailbox (and of the org's default settings)."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"
    ACT = "act"
    """Appointments, contacts and tasks."""


class DeliveryMethod(StrEnum):
    """A delivery method as people name it; :func:`option_value` gives the Dataverse value."""

    NONE = "none"
    OUTLOOK = "outlook"
    SERVER_SIDE_SYNC = "server-side-sync"
    FORWARD_MAILBOX = "forward-mailbox"
    """Incoming email only."""


# reference/dataverse.md §1.2. The ACT column orders its values differently from the email ones.
_OPTION_VALUES: Final[Mapping[DeliveryChannel, Mapping[DeliveryMethod, int]]] = MappingProxyType(
    {
        DeliveryChannel.INCOMING: MappingProxyType(
            {
                DeliveryMethod.NONE: 0,
                DeliveryMethod.OUTLOOK: 1,
                DeliveryMethod.SERVER_SIDE_SYNC: 2,
                DeliveryMethod.FORWARD_MAILBOX: 3,
            }
        ),
        DeliveryChannel.OUTGOING: MappingProxyType(
            {DeliveryMethod.NONE: 0, DeliveryMethod.OUTLOOK: 1, DeliveryMethod.SERVER_SIDE_SYNC: 2}
        ),
        DeliveryChannel.ACT: MappingProxyType(
            {DeliveryMethod.OUTLOOK: 0, DeliveryMethod.SERVER_SIDE_SYNC: 1, DeliveryMethod.NONE: 2}
        ),
    }
)


def option_value(channel: DeliveryChannel, method: DeliveryMethod) -> int:
    """The Dataverse option value of ``method`` in the column of ``channel``.

    Raises:
        ValueError: the method does not exist for that channel (forward mailbox other than
            for incoming email).
    """
    try:
        return _OPTION_VALUES[channel][method]
    except KeyError:
        msg = f"{method.value} is not a delivery method for {channel.value}"
        raise ValueError(msg) from None


class ApprovalScope(StrEnum):
    """Whose mailboxes the org's approval requirement covers."""

    USERS = "users"
    QUEUES = "queues"
    BOTH = "both"


class ProfileAuthentication(StrEnum):
    """Authentication types of the Exchange Online server profile form."""

    SERVER_TO_SERVER = "server-to-server"
    """Same tenant."""
    OAUTH = "oauth"
    """Cross tenant."""


class BaseCommand(BaseModel):
    """Fields every command carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: Language = "en"
    environment: Name | None = None


class _DeliveryMethods(BaseCommand):
    incoming: DeliveryMethod | None = None
    outgoing: DeliveryMethod | None = None
    act: DeliveryMethod | None = None

    @model_validator(mode="after")
    def _methods_exist(self) -> Self:
        for channel, method in self.methods().items():
            option_value(channel, method)
        return self

    def methods(self) -> dict[DeliveryChannel, DeliveryMethod]:
        """The channels that change, with their new method."""
        chosen = {
            DeliveryChannel.INCOMING: self.incoming,
            DeliveryChannel.OUTGOING: self.outgoing,
            DeliveryChannel.ACT: self.act,
        }
        return {channel: method for channel, method in chosen.items() if method is not None}

    def option_values(self) -> dict[DeliveryChannel, int]:
        """The channels that change, with the Dataverse option value to write."""
        return {channel: option_value(channel, m) for channel, m in self.methods().items()}


class Approve(BaseCommand):
    """Approve the email address of one or more mailboxes."""

    kind: Literal[CommandKind.APPROVE] = CommandKind.APPROVE
    targets: Names


class Reject(BaseCommand):
    """Reject the email address of one or more mailboxes."""

    kind: Literal[CommandKind.REJECT] = CommandKind.REJECT
    targets: Names


class TestAndEnable(BaseCommand):
    """Test & Enable one or more mailboxes."""

    __test__ = False  # not a pytest test class, despite the name
    kind: Literal[CommandKind.TEST_AND_ENABLE] = CommandKind.TEST_AND_ENABLE
    targets: Names


class Status(BaseCommand):
    """Show a mailbox: approval, delivery methods, test results, profile, latest alerts."""

    kind: Literal[CommandKind.STATUS] = CommandKind.STATUS
    target: Name


class Alerts(BaseCommand):
    """Show the alerts of a mailbox."""

    kind: Literal[CommandKind.ALERTS] = CommandKind.ALERTS
    target: Name


class PendingApprovals(BaseCommand):
    """List the approval requests waiting for someone."""

    kind: Literal[CommandKind.PENDING_APPROVALS] = CommandKind.PENDING_APPROVALS


class MyRequests(BaseCommand):
    """List the caller's own approval requests."""

    kind: Literal[CommandKind.MY_REQUESTS] = CommandKind.MY_REQUESTS


class FailingMailboxes(BaseCommand):
    """List the mailboxes whose last test or synchronization failed."""

    kind: Literal[CommandKind.FAILING_MAILBOXES] = CommandKind.FAILING_MAILBOXES


class ApplyDefaultSettings(BaseCommand):
    """Apply the org's default email settings to mailboxes."""

    kind: Literal[CommandKind.APPLY_DEFAULT_SETTINGS] = CommandKind.APPLY_DEFAULT_SETTINGS
    targets: Names


class SetDeliveryMethods(_DeliveryMethods):
    """Change the delivery methods of mailboxes; channels left ``None`` stay as they are."""

    kind: Literal[CommandKind.SET_DELIVERY_METHODS] = CommandKind.SET_DELIVERY_METHODS
    targets: Names

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if not self.methods():
            msg = "name at least one of incoming, outgoing or act"
            raise ValueError(msg)
        return self


class UseProfile(BaseCommand):
    """Associate mailboxes with a server profile."""

    kind: Literal[CommandKind.USE_PROFILE] = CommandKind.USE_PROFILE
    targets: Names
    profile: Name


class SyncFromThisOrgOnly(BaseCommand):
    """Tick (or clear) "Sync items with Exchange from this org only" on mailboxes."""

    kind: Literal[CommandKind.SYNC_FROM_THIS_ORG_ONLY] = CommandKind.SYNC_FROM_THIS_ORG_ONLY
    targets: Names
    enabled: bool = True


class TestProfile(BaseCommand):
    """Test & Enable every mailbox of a server profile."""

    __test__ = False  # not a pytest test class, despite the name
    kind: Literal[CommandKind.TEST_PROFILE] = CommandKind.TEST_PROFILE
    profile: Name


class CreateProfile(BaseCommand):
    """Create an Exchange Online server profile."""

    kind: Literal[CommandKind.CREATE_PROFILE] = CommandKind.CREATE_PROFILE
    name: Name
    authentication: ProfileAuthentication = ProfileAuthentication.SERVER_TO_SERVER


class SetDefaultProfile(BaseCommand):
    """Make a server profile the default for new mailboxes."""

    kind: Literal[CommandKind.SET_DEFAULT_PROFILE] = CommandKind.SET_DEFAULT_PROFILE
    profile: Name


class ShowEmailSettings(BaseCommand):
    """Show the org's email settings."""

    kind: Literal[CommandKind.SHOW_EMAIL_SETTINGS] = CommandKind.SHOW_EMAIL_SETTINGS


class SetDefaultEmailSettings(_DeliveryMethods):
    """Change the org's default email settings for new users and queues; ``None`` = unchanged."""

    kind: Literal[CommandKind.SET_DEFAULT_EMAIL_SETTINGS] = CommandKind.SET_DEFAULT_EMAIL_SETTINGS
    profile: Name | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if not self.methods() and self.profile is None:
            msg = "name at least one of incoming, outgoing, act or profile"
            raise ValueError(msg)
        return self


class SetApprovalRequirement(BaseCommand):
    """Require (or stop requiring) approved email addresses for users, queues or both."""

    kind: Literal[CommandKind.SET_APPROVAL_REQUIREMENT] = CommandKind.SET_APPROVAL_REQUIREMENT
    scope: ApprovalScope
    required: bool


class AddDelegatedApprover(BaseCommand):
    """Give people the Delegated Mailbox Approver security role."""

    kind: Literal[CommandKind.ADD_DELEGATED_APPROVER] = CommandKind.ADD_DELEGATED_APPROVER
    people: Names


class RemoveDelegatedApprover(BaseCommand):
    """Take the Delegated Mailbox Approver security role away from people."""

    kind: Literal[CommandKind.REMOVE_DELEGATED_APPROVER] = CommandKind.REMOVE_DELEGATED_APPROVER
    people: Names


class PointProfileToChina(BaseCommand):
    """Point a server profile at Exchange Online operated by 21Vianet (China)."""

    kind: Literal[CommandKind.POINT_PROFILE_TO_CHINA] = CommandKind.POINT_PROFILE_TO_CHINA
    profile: Name


class Audit(BaseCommand):
    """Show audit log entries, optionally about one target and at most ``limit`` of them.

    The target is a name (a mailbox, a person, a server profile) or, with ``organization``,
    the organization's email settings, which have no name to type.
    """

    kind: Literal[CommandKind.AUDIT] = CommandKind.AUDIT
    target: Name | None = None
    organization: bool = False
    limit: Annotated[int, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.organization and self.target is not None:
            msg = "name a target or the organization, not both"
            raise ValueError(msg)
        return self


class Undo(BaseCommand):
    """Undo the last change made to a mailbox."""

    kind: Literal[CommandKind.UNDO] = CommandKind.UNDO
    target: Name


class WhoIsOnCall(BaseCommand):
    """Show who is on call."""

    kind: Literal[CommandKind.WHO_IS_ON_CALL] = CommandKind.WHO_IS_ON_CALL


class SetOnCallChannel(BaseCommand):
    """Make the conversation the request came from the on-call channel."""

    kind: Literal[CommandKind.SET_ON_CALL_CHANNEL] = CommandKind.SET_ON_CALL_CHANNEL


class RequestApproval(BaseCommand):
    """Ask the people who may approve these mailboxes to do it, with an optional reason."""

    kind: Literal[CommandKind.REQUEST_APPROVAL] = CommandKind.REQUEST_APPROVAL
    targets: Names
    reason: Name | None = None


Explainable = Annotated[
    Approve
    | Reject
    | TestAndEnable
    | ApplyDefaultSettings
    | SetDeliveryMethods
    | UseProfile
    | SyncFromThisOrgOnly
    | TestProfile
    | CreateProfile
    | SetDefaultProfile
    | SetDefaultEmailSettings
    | SetApprovalRequirement
    | AddDelegatedApprover
    | RemoveDelegatedApprover
    | PointProfileToChina
    | Audit
    | Undo
    | SetOnCallChannel,
    Field(discriminator="kind"),
]
"""The commands that ``why can't I …`` can ask about: those a permission decision guards."""


class Why(BaseCommand):
    """Explain which rule of the permission model stops the caller from running ``command``."""

    kind: Literal[CommandKind.WHY] = CommandKind.WHY
    command: Explainable


class Help(BaseCommand):
    """Show what the bot can do, or how to use one command (``topic``).

    ``query`` keeps the words after ``help`` as typed; ``topic`` is the command they name, if any.
    """

    kind: Literal[CommandKind.HELP] = CommandKind.HELP
    topic: CommandKind | None = None
    query: Name | None = None


Command = Annotated[
    Approve
    | Reject
    | TestAndEnable
    | Status
    | Alerts
    | PendingApprovals
    | MyRequests
    | FailingMailboxes
    | ApplyDefaultSettings
    | SetDeliveryMethods
    | UseProfile
    | SyncFromThisOrgOnly
    | TestProfile
    | CreateProfile
    | SetDefaultProfile
    | ShowEmailSettings
    | SetDefaultEmailSettings
    | SetApprovalRequirement
    | AddDelegatedApprover
    | RemoveDelegatedApprover
    | PointProfileToChina
    | Why
    | Help
    | Audit
    | Undo
    | WhoIsOnCall
    | SetOnCallChannel
    | RequestApproval,
    Field(discriminator="kind"),
]
"""Any command, discriminated by ``kind``."""

COMMAND_ADAPTER: Final[TypeAdapter[Command]] = TypeAdapter(Command)
"""Validates and serializes any :data:`Command` (``validate_json`` / ``dump_json``)."""


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """What the help card and the Teams manifest say about one command kind.

    ``usage_*`` name the arguments in angle brackets (``<mailbox>``); ``examples_*`` are full
    phrasings that parse to this kind (a test checks it).
    """

    kind: CommandKind
    model: type[BaseCommand]
    title_en: str
    title_id: str
    help_en: str
    help_id: str
    usage_en: tuple[str, ...]
    usage_id: tuple[str, ...]
    examples_en: tuple[str, ...]
    examples_id: tuple[str, ...]

    def title(self, language: Language) -> str:
        """The short title in ``language`` (at most 32 characters: the manifest's limit)."""
        return self.title_id if language == "id" else self.title_en

    def help(self, language: Language) -> str:
        """The one-line help text in ``language``."""
        return self.help_id if language == "id" else self.help_en

    def usage(self, language: Language) -> tuple[str, ...]:
        """The usage lines in ``language``."""
        return self.usage_id if language == "id" else self.usage_en

    def examples(self, language: Language) -> tuple[str, ...]:
        """Example phrasings in ``language``."""
        return self.examples_id if language == "id" else self.examples_en


_COMMANDS: Final = (
    CommandInfo(
        kind=CommandKind.APPROVE,
        model=Approve,
        title_en="approve",
        title_id="setujui",
        help_en="Approve the email address of mailboxes.",
        help_id="Setujui alamat email kotak pesan.",
        usage_en=(
            "approve <mailbox>",
            "approve mailbox for <mailbox>",
        ),
        usage_id=(
            "setujui <mailbox>",
            "setujui kotak pesan <mailbox>",
        ),
        examples_en=(
            "approve mailbox for alice",
            "approve alice, bob and carol",
            "approve support@contoso.com",
        ),
        examples_id=(
            "setujui kotak pesan alice",
            "setujui alice dan bob",
        ),
    ),
    CommandInfo(
        kind=CommandKind.REJECT,
        model=Reject,
        title_en="reject",
        title_id="tolak",
        help_en="Reject the email address of mailboxes.",
        help_id="Tolak alamat email kotak pesan.",
        usage_en=(
            "reject <mailbox>",
            "reject mailbox for <mailbox>",
        ),
        usage_id=(
            "tolak <mailbox>",
            "tolak kotak pesan <mailbox>",
        ),
        examples_en=(
            "reject alice",
            "reject mailbox for alice",
        ),
        examples_id=("tolak kotak pesan alice",),
    ),
    CommandInfo(
        kind=CommandKind.TEST_AND_ENABLE,
        model=TestAndEnable,
        title_en="test and enable",
        title_id="uji dan aktifkan",
        help_en="Test & Enable mailboxes (approves your own where allowed).",
        help_id="Uji & aktifkan kotak pesan.",
        usage_en=(
            "test mailbox <mailbox>",
            "test and enable <mailbox>",
        ),
        usage_id=(
            "uji kotak pesan <mailbox>",
            "uji dan aktifkan <mailbox>",
        ),
        examples_en=(
            "test mailbox bob",
            "test and enable support@contoso.com",
        ),
        examples_id=(
            "uji kotak pesan bob",
            "uji dan aktifkan bob",
        ),
    ),
    CommandInfo(
        kind=CommandKind.STATUS,
        model=Status,
        title_en="status",
        title_id="status",
        help_en="Show a mailbox: approval, delivery methods, tests, profile, alerts.",
        help_id="Tampilkan kotak pesan: persetujuan, metode pengiriman, uji, profil, peringatan.",
        usage_en=(
            "status of <mailbox>",
            "show mailbox <mailbox>",
        ),
        usage_id=("status kotak pesan <mailbox>",),
        examples_en=(
            "status of alice",
            "show mailbox bob",
        ),
        examples_id=("status kotak pesan alice",),
    ),
    CommandInfo(
        kind=CommandKind.ALERTS,
        model=Alerts,
        title_en="alerts",
        title_id="peringatan",
        help_en="Show the alerts of a mailbox.",
        help_id="Tampilkan peringatan kotak pesan.",
        usage_en=("alerts for <mailbox>",),
        usage_id=("peringatan untuk <mailbox>",),
        examples_en=(
            "alerts for bob",
            "show alerts for alice",
        ),
        examples_id=("peringatan untuk bob",),
    ),
    CommandInfo(
        kind=CommandKind.PENDING_APPROVALS,
        model=PendingApprovals,
        title_en="pending approvals",
        title_id="persetujuan tertunda",
        help_en="List approval requests waiting for a decision.",
        help_id="Daftar persetujuan tertunda.",
        usage_en=("pending approvals",),
        usage_id=("persetujuan tertunda",),
        examples_en=(
            "pending approvals",
            "show pending",
        ),
        examples_id=("persetujuan tertunda",),
    ),
    CommandInfo(
        kind=CommandKind.MY_REQUESTS,
        model=MyRequests,
        title_en="my requests",
        title_id="permintaan saya",
        help_en="List your own approval requests.",
        help_id="Daftar permintaan persetujuan Anda.",
        usage_en=("my requests",),
        usage_id=("permintaan saya",),
        examples_en=("my requests",),
        examples_id=("permintaan saya",),
    ),
    CommandInfo(
        kind=CommandKind.FAILING_MAILBOXES,
        model=FailingMailboxes,
        title_en="failing mailboxes",
        title_id="kotak pesan gagal",
        help_en="List mailboxes whose test or synchronization failed.",
        help_id="Daftar kotak pesan yang gagal diuji atau disinkronkan.",
        usage_en=("failing mailboxes",),
        usage_id=("kotak pesan yang gagal",),
        examples_en=(
            "failing mailboxes",
            "which mailboxes are failing",
        ),
        examples_id=("kotak pesan yang gagal",),
    ),
    CommandInfo(
        kind=CommandKind.APPLY_DEFAULT_SETTINGS,
        model=ApplyDefaultSettings,
        title_en="apply default settings",
        title_id="terapkan pengaturan default",
        help_en="Apply the default email settings to mailboxes.",
        help_id="Terapkan pengaturan email default ke kotak pesan.",
        usage_en=("apply default settings to <mailbox>",),
        usage_id=("terapkan pengaturan default ke <mailbox>",),
        examples_en=("apply default settings to alice",),
        examples_id=("terapkan pengaturan default ke alice",),
    ),
    CommandInfo(
        kind=CommandKind.SET_DELIVERY_METHODS,
        model=SetDeliveryMethods,
        title_en="set delivery method",
        title_id="atur metode pengiriman",
        help_en="Set incoming, outgoing or appointments/contacts/tasks delivery of mailboxes.",
        help_id="Atur email masuk, email keluar atau janji temu/kontak/tugas kotak pesan.",
        usage_en=("set incoming email for <mailbox> to <method>",),
        usage_id=("atur email masuk untuk <mailbox> ke <method>",),
        examples_en=(
            "set incoming email for alice to server-side sync",
            "set appointments, contacts and tasks for bob to outlook",
        ),
        examples_id=("atur email masuk untuk alice ke sinkronisasi sisi server",),
    ),
    CommandInfo(
        kind=CommandKind.USE_PROFILE,
        model=UseProfile,
        title_en="use profile",
        title_id="gunakan profil",
        help_en="Associate mailboxes with a server profile.",
        help_id="Kaitkan kotak pesan dengan profil server.",
        usage_en=("use profile <profile> for <mailbox>",),
        usage_id=("gunakan profil <profile> untuk <mailbox>",),
        examples_en=("use profile Microsoft Exchange Online for alice",),
        examples_id=('gunakan profil "Microsoft Exchange Online" untuk alice',),
    ),
    CommandInfo(
        kind=CommandKind.SYNC_FROM_THIS_ORG_ONLY,
        model=SyncFromThisOrgOnly,
        title_en="sync from this org only",
        title_id="sinkronkan dari organisasi ini",
        help_en="Sync a mailbox's items with Exchange from this org only.",
        help_id="Sinkronkan item kotak pesan dengan Exchange hanya dari organisasi ini.",
        usage_en=("sync <mailbox> from this org only",),
        usage_id=("sinkronkan <mailbox> hanya dari organisasi ini",),
        examples_en=("sync alice from this org only",),
        examples_id=("sinkronkan alice hanya dari organisasi ini",),
    ),
    CommandInfo(
        kind=CommandKind.TEST_PROFILE,
        model=TestProfile,
        title_en="test profile",
        title_id="uji profil",
        help_en="Test & Enable every mailbox of a server profile.",
        help_id="Uji & aktifkan semua kotak pesan di profil server.",
        usage_en=("test all mailboxes in profile <profile>",),
        usage_id=("uji semua kotak pesan di profil <profile>",),
        examples_en=("test all mailboxes in profile Microsoft Exchange Online",),
        examples_id=("uji semua kotak pesan di profil Microsoft Exchange Online",),
    ),
    CommandInfo(
        kind=CommandKind.CREATE_PROFILE,
        model=CreateProfile,
        title_en="create profile",
        title_id="buat profil",
        help_en="Create an Exchange Online server profile (same or cross tenant).",
        help_id="Buat profil server Exchange Online (penyewa sama atau lintas penyewa).",
        usage_en=("create exchange online profile <profile>",),
        usage_id=("buat profil exchange online <profile>",),
        examples_en=(
            "create exchange online profile Contoso EXO",
            "create profile Fabrikam cross tenant",
        ),
        examples_id=("buat profil exchange online Contoso EXO",),
    ),
    CommandInfo(
        kind=CommandKind.SET_DEFAULT_PROFILE,
        model=SetDefaultProfile,
        title_en="set default profile",
        title_id="jadikan profil default",
        help_en="Make a server profile the default for new mailboxes.",
        help_id="Jadikan profil server sebagai default untuk kotak pesan baru.",
        usage_en=("make <profile> the default profile",),
        usage_id=("jadikan <profile> profil default",),
        examples_en=(
            "make Microsoft Exchange Online the default profile",
            "set default profile to Contoso EXO",
        ),
        examples_id=("jadikan Contoso EXO profil default",),
    ),
    CommandInfo(
        kind=CommandKind.SHOW_EMAIL_SETTINGS,
        model=ShowEmailSettings,
        title_en="show email settings",
        title_id="tampilkan pengaturan email",
        help_en="Show the org's email settings.",
        help_id="Tampilkan pengaturan email organisasi.",
        usage_en=("show email settings",),
        usage_id=("tampilkan pengaturan email",),
        examples_en=("show email settings",),
        examples_id=("tampilkan pengaturan email",),
    ),
    CommandInfo(
        kind=CommandKind.SET_DEFAULT_EMAIL_SETTINGS,
        model=SetDefaultEmailSettings,
        title_en="set default email settings",
        title_id="atur pengaturan email default",
        help_en="Set the default profile and delivery methods for new users and queues.",
        help_id="Atur profil dan metode pengiriman default untuk pengguna dan antrean baru.",
        usage_en=(
            "set default email settings incoming <method> outgoing <method> act <method> "
            "profile <profile>",
        ),
        usage_id=(
            "atur pengaturan email default email masuk <method> email keluar <method> "
            "profil <profile>",
        ),
        examples_en=(
            "set default email settings incoming server-side sync outgoing server-side sync "
            "act server-side sync profile Microsoft Exchange Online",
        ),
        examples_id=(
            "atur pengaturan email default email masuk sinkronisasi sisi server "
            "email keluar sinkronisasi sisi server",
        ),
    ),
    CommandInfo(
        kind=CommandKind.SET_APPROVAL_REQUIREMENT,
        model=SetApprovalRequirement,
        title_en="approval requirement",
        title_id="persyaratan persetujuan",
        help_en="Turn the mailbox approval requirement off or on for users and/or queues.",
        help_id="Matikan atau nyalakan persyaratan persetujuan untuk pengguna dan/atau antrean.",
        usage_en=(
            "turn off approval for <users|queues|both>",
            "require approval for <users|queues|both>",
        ),
        usage_id=("matikan persetujuan untuk <pengguna|antrean|keduanya>",),
        examples_en=(
            "turn off approval for users",
            "require approval for queues",
        ),
        examples_id=("matikan persetujuan untuk pengguna",),
    ),
    CommandInfo(
        kind=CommandKind.ADD_DELEGATED_APPROVER,
        model=AddDelegatedApprover,
        title_en="add delegated approver",
        title_id="tambah pemberi persetujuan",
        help_en="Give someone the Delegated Mailbox Approver role.",
        help_id="Berikan peran Pemberi Persetujuan Kotak Pesan yang Didelegasikan.",
        usage_en=("make <person> a delegated approver",),
        usage_id=("jadikan <person> pemberi persetujuan kotak pesan",),
        examples_en=("make dana a delegated approver",),
        examples_id=("jadikan dana pemberi persetujuan kotak pesan",),
    ),
    CommandInfo(
        kind=CommandKind.REMOVE_DELEGATED_APPROVER,
        model=RemoveDelegatedApprover,
        title_en="remove delegated approver",
        title_id="hapus pemberi persetujuan",
        help_en="Take the Delegated Mailbox Approver role away from someone.",
        help_id="Cabut peran Pemberi Persetujuan Kotak Pesan yang Didelegasikan.",
        usage_en=("remove <person> as delegated approver",),
        usage_id=("hapus <person> dari pemberi persetujuan",),
        examples_en=(
            "remove dana as delegated approver",
            "remove delegated approver dana",
        ),
        examples_id=("hapus dana dari pemberi persetujuan",),
    ),
    CommandInfo(
        kind=CommandKind.POINT_PROFILE_TO_CHINA,
        model=PointProfileToChina,
        title_en="point profile to china",
        title_id="arahkan profil ke tiongkok",
        help_en="Point a server profile at Exchange Online in China (21Vianet).",
        help_id="Arahkan profil server ke Exchange Online di Tiongkok (21Vianet).",
        usage_en=("point profile <profile> to china",),
        usage_id=("arahkan profil <profile> ke tiongkok",),
        examples_en=("point profile Contoso EXO to china",),
        examples_id=("arahkan profil Contoso EXO ke tiongkok",),
    ),
    CommandInfo(
        kind=CommandKind.WHY,
        model=Why,
        title_en="why can't i",
        title_id="kenapa saya tidak bisa",
        help_en="Explain which permission rule stops you, and what is missing.",
        help_id="Jelaskan aturan izin yang menghalangi Anda dan apa yang kurang.",
        usage_en=("why can't I approve <mailbox>",),
        usage_id=("kenapa saya tidak bisa menyetujui <mailbox>",),
        examples_en=(
            "why can't I approve alice",
            "why can't I test bob",
        ),
        examples_id=("kenapa saya tidak bisa menyetujui alice",),
    ),
    CommandInfo(
        kind=CommandKind.HELP,
        model=Help,
        title_en="help",
        title_id="bantuan",
        help_en="Show what I can do.",
        help_id="Tampilkan apa yang bisa saya lakukan.",
        usage_en=(
            "help",
            "help <command>",
        ),
        usage_id=(
            "bantuan",
            "bantuan <command>",
        ),
        examples_en=(
            "help",
            "help approve",
        ),
        examples_id=("bantuan",),
    ),
    CommandInfo(
        kind=CommandKind.AUDIT,
        model=Audit,
        title_en="audit",
        title_id="audit",
        help_en="Show the audit log.",
        help_id="Tampilkan log audit.",
        usage_en=(
            "audit for <mailbox>",
            "audit for <profile>",
            "audit for organization",
            "audit last <number>",
        ),
        usage_id=(
            "audit untuk <mailbox>",
            "audit untuk <profile>",
            "audit untuk organisasi",
        ),
        examples_en=(
            "audit for alice",
            "audit for organization",
            "audit last 20",
        ),
        examples_id=("audit untuk alice", "audit untuk organisasi"),
    ),
    CommandInfo(
        kind=CommandKind.UNDO,
        model=Undo,
        title_en="undo",
        title_id="batalkan",
        help_en="Undo the last change to a mailbox.",
        help_id="Batalkan perubahan terakhir pada kotak pesan.",
        usage_en=("undo last change to <mailbox>",),
        usage_id=("batalkan perubahan terakhir pada <mailbox>",),
        examples_en=("undo last change to alice",),
        examples_id=("batalkan perubahan terakhir pada alice",),
    ),
    CommandInfo(
        kind=CommandKind.WHO_IS_ON_CALL,
        model=WhoIsOnCall,
        title_en="who is on call",
        title_id="siapa yang piket",
        help_en="Show who is on call.",
        help_id="Tampilkan siapa yang sedang piket.",
        usage_en=("who is on call",),
        usage_id=("siapa yang piket",),
        examples_en=("who is on call",),
        examples_id=("siapa yang piket",),
    ),
    CommandInfo(
        kind=CommandKind.SET_ON_CALL_CHANNEL,
        model=SetOnCallChannel,
        title_en="set on-call channel",
        title_id="atur kanal on-call",
        help_en="Send mailbox incidents to this channel.",
        help_id="Kirim insiden kotak pesan ke kanal ini.",
        usage_en=("set on-call channel here",),
        usage_id=("atur kanal on-call di sini",),
        examples_en=("set on-call channel here",),
        examples_id=("atur kanal on-call di sini",),
    ),
    CommandInfo(
        kind=CommandKind.REQUEST_APPROVAL,
        model=RequestApproval,
        title_en="request approval",
        title_id="minta persetujuan",
        help_en="Ask those who may approve a mailbox to approve it.",
        help_id="Minta persetujuan kotak pesan kepada yang berwenang.",
        usage_en=("request approval for <mailbox> because <reason>",),
        usage_id=("minta persetujuan untuk <mailbox> karena <reason>",),
        examples_en=("request approval for alice because she starts on Monday",),
        examples_id=("minta persetujuan untuk alice karena karyawan baru",),
    ),
)

REGISTRY: Final[Mapping[CommandKind, CommandInfo]] = MappingProxyType(
    {info.kind: info for info in _COMMANDS}
)
"""Every command kind, in the order the help card lists them."""
