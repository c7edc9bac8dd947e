"""The seed's permission-model table ("Model izin"), as data.

Four rows (where customer engagement runs × where Exchange runs) by seven columns (role
combinations). Each cell says Yes (can approve email), No, or n/a, with footnotes:

¹ applies from version 9.2.22104.00170 (online with Exchange Online);
² include the Exchange admin in your own business process for this configuration.

Reading of the cells, used by :func:`permissions.decide`: a person may approve when a
**Yes** cell's roles are all held (holding more roles never hurts). "No" and "n/a" never
grant anything; an n/a cell is judged by the row's other cells, so in rows 2–4 holding
System Administrator is enough whatever Entra roles come with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum, StrEnum
from typing import Final

from permissions.identifiers import (
    DELEGATED_APPROVER_MIN_VERSION,
    DELEGATED_MAILBOX_APPROVER_NAME,
    DYNAMICS_SERVICE_ADMIN,
    EXCHANGE_ADMIN,
    GLOBAL_ADMIN,
    SYSTEM_ADMINISTRATOR_NAME,
    SYSTEM_ADMINISTRATOR_TEMPLATE,
)
from permissions.model import Deployment
from permissions.requirements import (
    DataverseRoleRequirement,
    EntraRoleRequirement,
    Requirement,
    VersionRequirement,
)
from permissions.rules import Rule


class ExchangeLocation(StrEnum):
    """Where the mailbox's Exchange runs, as the table's rows distinguish it."""

    ONLINE = "exchange-online"
    ONPREM = "exchange-onprem"


class Row(Enum):
    """A row of the table: where customer engagement runs, and where Exchange runs."""

    ONLINE_WITH_EXCHANGE_ONLINE = (Deployment.ONLINE, ExchangeLocation.ONLINE)
    ONLINE_WITH_EXCHANGE_ONPREM = (Deployment.ONLINE, ExchangeLocation.ONPREM)
    ONPREM_WITH_EXCHANGE_ONLINE = (Deployment.ONPREM, ExchangeLocation.ONLINE)
    ONPREM_WITH_EXCHANGE_ONPREM = (Deployment.ONPREM, ExchangeLocation.ONPREM)

    @property
    def deployment(self) -> Deployment:
        return self.value[0]

    @property
    def exchange(self) -> ExchangeLocation:
        return self.value[1]

    @property
    def id(self) -> str:
        return f"{self.deployment.value}/{self.exchange.value}"

    @property
    def description(self) -> str:
        apps = (
            "Customer engagement apps (online)"
            if self.deployment is Deployment.ONLINE
            else "Customer Engagement (on-premises)"
        )
        exchange = (
            "Exchange Online"
            if self.exchange is ExchangeLocation.ONLINE
            else "Exchange (on-premises)"
        )
        return f"{apps} with {exchange}"


class Column(StrEnum):
    """A column of the table: a combination of roles."""

    GLOBAL_ADMIN_AND_SYSTEM_ADMIN = "ga+sa"
    EXCHANGE_ADMIN_AND_SYSTEM_ADMIN = "ea+sa"
    DELEGATED_APPROVER_AND_SYSTEM_ADMIN = "dma+sa"
    SYSTEM_ADMIN = "sa"
    SERVICE_ADMIN = "service-admin"
    EXCHANGE_ADMIN = "ea"
    GLOBAL_ADMIN = "ga"

    @property
    def description(self) -> str:
        return _COLUMN_TEXT[self]

    @property
    def roles(self) -> tuple[Requirement, ...]:
        """The roles a person holds to be "in" this column (more roles are fine)."""
        return _COLUMN_ROLES[self]


class Verdict(StrEnum):
    """A cell's value. The table's terminology: Yes = can approve email."""

    YES = "Yes"
    NO = "No"
    NOT_APPLICABLE = "n/a"


class Footnote(IntEnum):
    """The table's footnotes."""

    VERSION_GATE = 1
    INCLUDE_EXCHANGE_ADMIN = 2

    @property
    def marker(self) -> str:
        return "¹" if self is Footnote.VERSION_GATE else "²"

    @property
    def text(self) -> str:
        if self is Footnote.VERSION_GATE:
            return f"applies from version {DELEGATED_APPROVER_MIN_VERSION} or later"
        return "include the Exchange admin in your business process for this configuration"


_SYSTEM_ADMIN: Final = DataverseRoleRequirement(
    SYSTEM_ADMINISTRATOR_NAME, SYSTEM_ADMINISTRATOR_TEMPLATE
)
# The seed: the role "is currently not supported to be assigned to teams", so only a direct
# assignment makes someone a Delegated Mailbox Approver.
_DELEGATED_APPROVER: Final = DataverseRoleRequirement(
    DELEGATED_MAILBOX_APPROVER_NAME, None, direct_only=True
)

_COLUMN_ROLES: Final[dict[Column, tuple[Requirement, ...]]] = {
    Column.GLOBAL_ADMIN_AND_SYSTEM_ADMIN: (EntraRoleRequirement(GLOBAL_ADMIN), _SYSTEM_ADMIN),
    Column.EXCHANGE_ADMIN_AND_SYSTEM_ADMIN: (EntraRoleRequirement(EXCHANGE_ADMIN), _SYSTEM_ADMIN),
    Column.DELEGATED_APPROVER_AND_SYSTEM_ADMIN: (_DELEGATED_APPROVER, _SYSTEM_ADMIN),
    Column.SYSTEM_ADMIN: (_SYSTEM_ADMIN,),
    Column.SERVICE_ADMIN: (EntraRoleRequirement(DYNAMICS_SERVICE_ADMIN),),
    Column.EXCHANGE_ADMIN: (EntraRoleRequirement(EXCHANGE_ADMIN),),
    Column.GLOBAL_ADMIN: (EntraRoleRequirement(GLOBAL_ADMIN),),
}

_COLUMN_TEXT: Final[dict[Column, str]] = {
    Column.GLOBAL_ADMIN_AND_SYSTEM_ADMIN: "Global admin and System admin",
    Column.EXCHANGE_ADMIN_AND_SYSTEM_ADMIN: "Exchange admin and System admin",
    Column.DELEGATED_APPROVER_AND_SYSTEM_ADMIN: "Delegated Mailbox Approver and System admin",
    Column.SYSTEM_ADMIN: "System admin alone",
    Column.SERVICE_ADMIN: "Service admin (Dynamics 365 Administrator)",
    Column.EXCHANGE_ADMIN: "Exchange admin alone",
    Column.GLOBAL_ADMIN: "Global admin alone",
}

# The seed's table, cell for cell, in column order
# GA+SA, EA+SA, DMA+SA, SA, service admin, EA, GA ("t/a" in the Indonesian page is n/a).
_GRID: Final[dict[Row, tuple[str, ...]]] = {
    Row.ONLINE_WITH_EXCHANGE_ONLINE: ("Yes", "Yes", "Yes¹", "No", "No", "No", "No"),
    Row.ONLINE_WITH_EXCHANGE_ONPREM: ("n/a", "n/a", "n/a", "Yes²", "No", "n/a", "n/a"),
    Row.ONPREM_WITH_EXCHANGE_ONLINE: ("n/a", "n/a", "n/a", "Yes²", "n/a", "n/a", "n/a"),
    Row.ONPREM_WITH_EXCHANGE_ONPREM: ("n/a", "n/a", "n/a", "Yes²", "n/a", "n/a", "n/a"),
}


@dataclass(frozen=True)
class Cell:
    """One cell of the table."""

    row: Row
    column: Column
    verdict: Verdict
    footnotes: tuple[Footnote, ...] = ()

    @property
    def id(self) -> str:
        """Stable id such as ``online/exchange-online/dma+sa``."""
        return f"{self.row.id}/{self.column.value}"

    @property
    def shown(self) -> str:
        """The cell as the seed prints it, e.g. ``Yes¹``."""
        return self.verdict.value + "".join(f.marker for f in self.footnotes)

    @property
    def gate(self) -> tuple[Requirement, ...]:
        """Environment conditions a footnote puts on a Yes."""
        if Footnote.VERSION_GATE in self.footnotes:
            return (VersionRequirement(DELEGATED_APPROVER_MIN_VERSION),)
        return ()

    @property
    def description(self) -> str:
        meaning = {
            Verdict.YES: "Yes, can approve email",
            Verdict.NO: "No, cannot approve email",
            Verdict.NOT_APPLICABLE: "n/a, not applicable",
        }[self.verdict]
        notes = "".join(f" ({f.marker} {f.text})" for f in self.footnotes)
        return f"{self.row.description}; {self.column.description}: {meaning}{notes}."

    @property
    def rule(self) -> Rule:
        return Rule(
            self.id, f"{self.row.description}: {self.column.description}", self.description
        )


def _parse_cell(row: Row, column: Column, text: str) -> Cell:
    footnotes = tuple(f for f in Footnote if text.endswith(f.marker))
    verdict = Verdict(text.rstrip("¹²"))
    return Cell(row, column, verdict, footnotes)


TABLE: Final[dict[Row, tuple[Cell, ...]]] = {
    row: tuple(_parse_cell(row, column, text) for column, text in zip(Column, texts, strict=True))
    for row, texts in _GRID.items()
}


def cell(row: Row, column: Column) -> Cell:
    """The cell at ``row`` × ``column``."""
    return TABLE[row][list(Column).index(column)]


def all_cells() -> tuple[Cell, ...]:
    """Every cell, row by row."""
    return tuple(c for row in Row for c in TABLE[row])


def row_for(deployment: Deployment, exchange: ExchangeLocation) -> Row:
    """The row for an environment's deployment and the mailbox's Exchange."""
    return Row((deployment, exchange))


# Servertype option values, reference §2: 0 Exchange Server, 1 Other (POP3/SMTP),
# 2 Exchange Server (Hybrid) = ExchangeOnpremOnCrmOnline, 3 Exchange Online (Hybrid) =
# ExchangeOnlineOnCrmOnPrem, 4 IMAP/SMTP.
SERVERTYPE_EXCHANGE: Final = 0
SERVERTYPE_POP3_SMTP: Final = 1
SERVERTYPE_EXCHANGE_HYBRID: Final = 2
SERVERTYPE_EXCHANGE_ONLINE_HYBRID: Final = 3
SERVERTYPE_IMAP_SMTP: Final = 4


@dataclass(frozen=True)
class ServerReading:
    """How a mailbox's server profile places it in the table."""

    exchange: ExchangeLocation
    is_exchange: bool
    """False for POP3/SMTP and IMAP, which follow the on-premises rows' rule."""
    reason: str


def read_server_type(deployment: Deployment, servertype: int | None) -> ServerReading | None:
    """Which Exchange a mailbox's profile connects to; ``None`` for an unknown servertype.

    UNCONFIRMED (reference §2 note and §12.1): no ``servertype`` value is labelled plain
    "Exchange Online", and which value the automatically created "Microsoft Exchange Online"
    profile of an online environment stores is undocumented. This reading takes Microsoft's
    own enum names at their word (2 = ExchangeOnpremOnCrmOnline, 3 =
    ExchangeOnlineOnCrmOnPrem), so the hybrid values say which side Exchange is on whatever
    the deployment, and reads 0 ("Exchange Server") as the environment's own kind of
    Exchange: Exchange Online in an online environment (the most plausible value of the
    automatic profile), Exchange on-premises in an on-premises one. Where the reading could
    be wrong it errs strict: online with Exchange Online is the only row with Entra checks.

    POP3/SMTP (1) and IMAP (4) are not Exchange; the seed has no row for them, and they
    follow the System-admin rule of the on-premises rows (the deployment's Exchange
    on-premises row). A mailbox with no profile (``None``) gets its deployment's default
    reading: the automatic "Microsoft Exchange Online" profile the seed says to make the
    default online, and the native Exchange on-premises.
    """
    native = (
        ExchangeLocation.ONLINE if deployment is Deployment.ONLINE else ExchangeLocation.ONPREM
    )
    if servertype is None:
        return ServerReading(native, True, "no server profile: the deployment's default")
    if servertype == SERVERTYPE_EXCHANGE:
        return ServerReading(native, True, "servertype 0 (Exchange Server)")
    if servertype == SERVERTYPE_EXCHANGE_HYBRID:
        return ServerReading(
            ExchangeLocation.ONPREM, True, "servertype 2 (Exchange Server (Hybrid))"
        )
    if servertype == SERVERTYPE_EXCHANGE_ONLINE_HYBRID:
        return ServerReading(
            ExchangeLocation.ONLINE, True, "servertype 3 (Exchange Online (Hybrid))"
        )
    if servertype in (SERVERTYPE_POP3_SMTP, SERVERTYPE_IMAP_SMTP):
        return ServerReading(
            ExchangeLocation.ONPREM, False, f"servertype {servertype} is not Exchange"
        )
    return None
