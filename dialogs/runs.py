"""What a confirmed change runs, as data: a kind and JSON parameters, turned back into the
operation when Confirm comes.

A bulk preview is kept (in the store when the bot has one) until someone confirms it,
perhaps in another process or after a restart, so what it will run cannot be a closure:
`Run` names the kind of change and carries its parameters (the delivery-method values, the
profile id, …), and `runner` builds the operation from them. A kind this code does not know,
or parameters that do not fit it, raise `MalformedRun`: the caller treats the preview as
out of date and runs nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Final

from dataverse import ops
from dataverse.models import ActDelivery, IncomingDelivery, Mailbox, OutgoingDelivery
from dataverse.ops.results import BulkResult
from dialogs.commands import DeliveryChannel
from dialogs.context import Ctx

# Runs the change on the rows that still match the preview; one result per row, in order.
Runner = Callable[[Ctx, Sequence[Mailbox]], Awaitable[BulkResult]]

# A chat turn waits at most this long in all for service protection (429 Retry-After);
# the operations' own default (15 minutes) suits background jobs, not a person waiting.
TURN_OPTIONS: Final = ops.BulkOptions(throttle_budget=30.0)

_DELIVERY_OPTIONS: Final[Mapping[DeliveryChannel, type[IntEnum]]] = {
    DeliveryChannel.INCOMING: IncomingDelivery,
    DeliveryChannel.OUTGOING: OutgoingDelivery,
    DeliveryChannel.ACT: ActDelivery,
}


class MalformedRun(ValueError):
    """A kept run names an unknown kind, or its parameters do not fit the kind."""


class RunKind(StrEnum):
    APPROVE_EMAIL = "approve-email"
    REJECT_EMAIL = "reject-email"
    TEST_AND_ENABLE = "test-and-enable"
    APPLY_DEFAULT_SETTINGS = "apply-default-settings"
    SET_DELIVERY_METHODS = "set-delivery-methods"
    SET_SERVER_PROFILE = "set-server-profile"
    SET_SYNC_FROM_THIS_ORG_ONLY = "set-sync-from-this-org-only"


@dataclass(frozen=True)
class Run:
    """A change to run on mailboxes: its kind and JSON-serialisable parameters."""

    kind: RunKind
    params: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "params": dict(self.params)}

    @classmethod
    def from_record(cls, value: object) -> Run:
        """The run a record describes; `runner` checks its parameters.

        Raises:
            MalformedRun: not a run record, or an unknown kind.
        """
        if not isinstance(value, Mapping) or set(value) != {"kind", "params"}:
            msg = f"not a run record: {value!r}"
            raise MalformedRun(msg)
        kind, params = value["kind"], value["params"]
        if not isinstance(kind, str) or kind not in set(RunKind):
            msg = f"unknown kind of run {kind!r}"
            raise MalformedRun(msg)
        if not isinstance(params, Mapping):
            msg = f"the parameters of {kind} are not an object: {params!r}"
            raise MalformedRun(msg)
        return cls(RunKind(kind), dict(params))


APPROVE_EMAIL: Final = Run(RunKind.APPROVE_EMAIL)
REJECT_EMAIL: Final = Run(RunKind.REJECT_EMAIL)
TEST_AND_ENABLE: Final = Run(RunKind.TEST_AND_ENABLE)
APPLY_DEFAULT_SETTINGS: Final = Run(RunKind.APPLY_DEFAULT_SETTINGS)


def set_delivery_methods(values: Mapping[DeliveryChannel, int]) -> Run:
    """Write these Dataverse option values to the channels named."""
    return Run(RunKind.SET_DELIVERY_METHODS, {c.value: int(v) for c, v in values.items()})


def set_server_profile(profile_id: uuid.UUID) -> Run:
    return Run(RunKind.SET_SERVER_PROFILE, {"profile_id": str(profile_id)})


def set_sync_from_this_org_only(enabled: bool) -> Run:
    return Run(RunKind.SET_SYNC_FROM_THIS_ORG_ONLY, {"enabled": enabled})


def runner(run: Run) -> Runner:
    """The operation `run` stands for.

    Raises:
        MalformedRun: the parameters do not fit the kind.
    """
    params = run.params
    match run.kind:
        case RunKind.APPROVE_EMAIL:
            _expect(run, set())
            return _approve
        case RunKind.REJECT_EMAIL:
            _expect(run, set())
            return _reject
        case RunKind.TEST_AND_ENABLE:
            _expect(run, set())
            return _test_and_enable
        case RunKind.APPLY_DEFAULT_SETTINGS:
            _expect(run, set())
            return _apply_defaults
        case RunKind.SET_DELIVERY_METHODS:
            return _delivery_methods(_delivery_values(run))
        case RunKind.SET_SERVER_PROFILE:
            _expect(run, {"profile_id"})
            profile_id = params["profile_id"]
            try:
                key = uuid.UUID(profile_id) if isinstance(profile_id, str) else None
            except ValueError:
                key = None
            if key is None:
                msg = f"{profile_id!r} is not a profile id"
                raise MalformedRun(msg)
            return _server_profile(key)
        case RunKind.SET_SYNC_FROM_THIS_ORG_ONLY:
            _expect(run, {"enabled"})
            enabled = params["enabled"]
            if not isinstance(enabled, bool):
                msg = f"{enabled!r} is not true or false"
                raise MalformedRun(msg)
            return _org_only(enabled)


def _expect(run: Run, names: set[str]) -> None:
    if set(run.params) != names:
        msg = f"{run.kind} takes the parameters {sorted(names)}, not {sorted(run.params)}"
        raise MalformedRun(msg)


def _delivery_values(run: Run) -> dict[DeliveryChannel, int]:
    values: dict[DeliveryChannel, int] = {}
    for name, value in run.params.items():
        try:
            channel = DeliveryChannel(name)
            # bool is an int to Python, never a delivery method.
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(value)
            values[channel] = int(_DELIVERY_OPTIONS[channel](value))
        except ValueError:
            msg = f"{name!r}: {value!r} is not a delivery method value"
            raise MalformedRun(msg) from None
    if not values:
        msg = "a delivery-method change names no channel"
        raise MalformedRun(msg)
    return values


# ---- the operations ------------------------------------------------------------------------


async def _approve(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
    return await ops.approve_many(ctx.env.dataverse, list(rows), acting_for=ctx.acting_for)


async def _reject(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
    return await ops.reject_many(ctx.env.dataverse, list(rows), acting_for=ctx.acting_for)


async def _test_and_enable(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
    # Scheduled, not waited for: the platform may take minutes per mailbox (§5.1), and the
    # monitor reports the failures as they come.
    return await ops.test_and_enable_many(ctx.env.dataverse, list(rows), acting_for=ctx.acting_for)


async def _apply_defaults(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
    # The seed: "Secara default, konfigurasi kotak pesan akan diuji": the settings and the
    # Test & Enable request go in one PATCH; the test result is not awaited here.
    return await ops.apply_default_settings(
        ctx.env.dataverse, list(rows), acting_for=ctx.acting_for, options=TURN_OPTIONS
    )


def _delivery_methods(values: Mapping[DeliveryChannel, int]) -> Runner:
    async def run(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_delivery_methods(
            ctx.env.dataverse,
            list(rows),
            incoming=values.get(DeliveryChannel.INCOMING),
            outgoing=values.get(DeliveryChannel.OUTGOING),
            act=values.get(DeliveryChannel.ACT),
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return run


def _server_profile(profile_id: uuid.UUID) -> Runner:
    async def run(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_server_profile(
            ctx.env.dataverse,
            list(rows),
            profile_id,
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return run


def _org_only(enabled: bool) -> Runner:
    async def run(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_org_primary_sync(
            ctx.env.dataverse,
            list(rows),
            enabled,
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return run
