"""Mailbox and server-profile alerts: `tracelog` rows, newest first (reference §5.3)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from dataverse.batch import BatchRequest
from dataverse.client import DataverseClient
from dataverse.errors import InvalidInput, UnexpectedResponse
from dataverse.models import Alert, AlertLevel, Mailbox, ServerProfile
from dataverse.odata import Query, col, desc, parse_guid
from dataverse.ops._bulk import (
    DEFAULT_OPTIONS,
    BulkOptions,
    Caller,
    Op,
    as_caller,
    execute,
    settle,
)

MAX_ALERTS: Final = 5000
# How far before a test's completion stamp its alerts may be dated (server clocks differ
# between the job and the row; the sim writes both in the same second).
TEST_ALERT_TOLERANCE: Final = timedelta(seconds=120)


async def list_alerts(
    client: DataverseClient,
    *,
    mailbox_id: str | uuid.UUID | None = None,
    profile_id: str | uuid.UUID | None = None,
    min_level: AlertLevel | None = None,
    limit: int = 20,
    acting_for: Caller = None,
) -> list[Alert]:
    """The latest alerts about one mailbox or one server profile, newest first.

    Give exactly one of `mailbox_id` and `profile_id`. The row itself is read alongside the
    alerts, so an unknown id answers `NotFound` rather than an empty list.
    """
    if (mailbox_id is None) == (profile_id is None):
        msg = "give a mailbox id or a profile id (one of them)"
        raise InvalidInput(msg)
    if isinstance(limit, bool) or not 1 <= limit <= MAX_ALERTS:
        msg = f"limit must be 1..{MAX_ALERTS}"
        raise InvalidInput(msg)
    level = None if min_level is None else AlertLevel(min_level)
    caller = as_caller(client, acting_for)
    given = mailbox_id if mailbox_id is not None else profile_id
    assert given is not None
    regarding = parse_guid(given)

    async def exists() -> None:
        if mailbox_id is not None:
            await caller.get_row(Mailbox, regarding, select=["mailboxid"])
        else:
            await caller.get_row(ServerProfile, regarding, select=["emailserverprofileid"])

    found = asyncio.ensure_future(exists())
    listed = asyncio.ensure_future(caller.alerts(regarding, limit=limit, min_level=level))
    await settle(found, listed)
    found.result()  # NotFound / Forbidden for the row itself come first
    return listed.result()


async def alerts_since(
    client: DataverseClient,
    since: Mapping[uuid.UUID, datetime],
    options: BulkOptions = DEFAULT_OPTIONS,
    *,
    per_mailbox: int = 10,
) -> dict[uuid.UUID, tuple[Alert, ...]]:
    """For each mailbox, its alerts modified at or after its moment in `since`, newest first.

    One query per `ids_per_query` mailboxes, several per `$batch`.
    """
    out: dict[uuid.UUID, list[Alert]] = {key: [] for key in since}
    keys = list(since)
    size = options.ids_per_query
    groups = [keys[i : i + size] for i in range(0, len(keys), size)]
    ops = []
    for n, group in enumerate(groups):
        earliest = min(since[k] for k in group)
        where = col("_regardingobjectid_value").in_(group) & col("modifiedon").ge(earliest)
        query = Query(filter=where, orderby=(desc("modifiedon"),))
        ops.append(Op(n, BatchRequest.query(Alert, query), True))
    done = await execute(client, ops, options, chunk_size=options.reads_per_batch)
    for n in range(len(groups)):
        answer = done.results[n]
        if not answer.ok:
            raise answer.error or UnexpectedResponse("an alert query got no answer")
        body = answer.body
        values = body.get("value") if isinstance(body, dict) else None
        if not isinstance(values, list):
            msg = "an alert query answered without a `value` list"
            raise UnexpectedResponse(msg)
        for value in values:
            alert = Alert.model_validate(value)
            key = alert.regarding_id
            if (
                key in out
                and alert.modified_on is not None
                and alert.modified_on >= since[key]
                and len(out[key]) < per_mailbox
            ):
                out[key].append(alert)
    return {key: tuple(alerts) for key, alerts in out.items()}
