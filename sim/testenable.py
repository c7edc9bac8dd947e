"""Test & Enable: the asynchronous mailbox test queued by `testemailconfigurationscheduled`.

reference/dataverse.md §5 and the seed ("Menguji konfigurasi kotak pesan", "Setujui kotak
pesan pengguna Anda sendiri"):

- A PATCH that sets `testemailconfigurationscheduled: true` queues the test (§5.1); it runs
  as a background job after `SimState.test_enable_delay_ms` (an asyncio task on the sim's
  loop; Sim.reset cancels what is still queued).
- It tests each direction whose delivery method is server-side synchronization (incoming 2,
  outgoing 2, ACT 1; reference §1.2); a direction with any other delivery method is not run
  and stays 0 Not Run. Results go to `incomingemailstatus`, `outgoingemailstatus`,
  `actstatus` (1 Success, 2 Failure) and `mailboxstatus` (overall), with
  `testmailboxaccesscompletedon`, `testandenablelastattemptedon/_by`; the flag goes back to
  false and `testemailconfigurationretrycount` counts the run (§5.2).
- What fails is scripted by the fixture (`SimState.test_outcomes[mailbox]`: "success" or a
  TestFailure with code, text, directions, permanent). Two failures come from the state
  itself: an address that is not approved while the organization requires approval for
  that kind of mailbox (users or queues), and a mailbox without a server profile.
- Every run writes an alert (§5.2: "an alert is written on success as well as on failure"):
  a `tracelog` row regarding the mailbox, level 1 Information on success and 3 Error on
  failure, honouring `organization.generatealertsfor*`. An alert that repeats for the same
  mailbox and trace code updates that row (its `modifiedon`) instead of adding one (§5.3).
- Success enables the tested directions for processing (`enabledfor*` true) and, when the
  person who scheduled the test meets the four self-approval conditions, approves the
  address as part of it (seed). A permanent failure disables the mailbox for processing
  (seed: "…atau menonaktifkan kotak pesan untuk pemrosesan email") through the documented
  switches: `enabledfor<direction>` false for each failed direction. The troubleshooting
  page for server-side synchronization ("Common alerts") words it the same way: "The
  mailbox has been disabled for receiving email", and mailbox.md describes
  `enabledforincomingemail` as "whether the mailbox is enabled for receiving email". A
  transient failure leaves processing as it was: the platform retries later.
- `processingstatecode` and `hostid` are not touched: they say whether an asynchronous host
  is processing the mailbox at this moment (sim/state.py), not whether it may be processed.
- A fixture outcome is not used up: the mailbox keeps failing the same way on every test
  until the scripted outcome is changed (`SimState.test_outcomes`).

Tests wait with `await run_pending(sim)` (run what is queued now, without the delay) or
`await await_idle(sim)` (let queued tests finish on their own schedule); no sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from sim.context import Sim
from sim.fixture import TestFailure
from sim.rules import APPROVAL, EffectiveCaller, approve_address, self_approval_failures
from sim.state import Row, iso, now_utc

LEVEL_INFORMATION: Final = 1
LEVEL_WARNING: Final = 2
LEVEL_ERROR: Final = 3

# Trace codes the sim writes itself (fixture failures carry their own). The platform's
# numbers for these alerts are not documented; these are the sim's.
TRACECODE_SUCCESS: Final = 0
TRACECODE_APPROVAL_REQUIRED: Final = 1
TRACECODE_NO_PROFILE: Final = 2

_EXTRAS_KEY: Final = "testenable"
_ALERT_INDEX_KEY: Final = "testenable.alert_index"


@dataclass(frozen=True)
class Direction:
    name: str  # as in TestFailure.directions
    method_column: str
    server_side_sync: int  # the delivery-method value that means server-side sync
    status_column: str
    enabled_column: str


DIRECTIONS: Final = (
    Direction(
        "incoming",
        "incomingemaildeliverymethod",
        2,
        "incomingemailstatus",
        "enabledforincomingemail",
    ),
    Direction(
        "outgoing",
        "outgoingemaildeliverymethod",
        2,
        "outgoingemailstatus",
        "enabledforoutgoingemail",
    ),
    Direction("act", "actdeliverymethod", 1, "actstatus", "enabledforact"),
)


@dataclass(frozen=True)
class _Failure:
    code: int
    text: str
    permanent: bool
    directions: frozenset[str]


@dataclass
class _Job:
    mailbox_id: str
    caller: EffectiveCaller
    task: asyncio.Task[None] | None = None


@dataclass
class Scheduler:
    """The queued Test & Enable jobs of one sim (stored in `sim.extras["testenable"]`)."""

    sim: Sim
    jobs: dict[str, _Job] = field(default_factory=dict)
    _stopping: set[asyncio.Task[None]] = field(default_factory=set)

    def schedule(self, caller: EffectiveCaller, mailbox_id: str) -> None:
        """Queue a test; a test already queued for the mailbox absorbs the new request."""
        key = mailbox_id.lower()
        if key in self.jobs:
            return
        job = _Job(key, caller)
        self.jobs[key] = job
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test calling hooks directly): `run_pending` runs it
        job.task = loop.create_task(self._after_delay(job), name=f"test-enable {key}")

    async def _after_delay(self, job: _Job) -> None:
        await asyncio.sleep(max(0, self.sim.state.test_enable_delay_ms) / 1000)
        self._finish(job)

    def _finish(self, job: _Job) -> None:
        if self.jobs.get(job.mailbox_id) is not job:
            return
        del self.jobs[job.mailbox_id]
        run_test(self.sim, job.mailbox_id, job.caller)

    def _stop(self, task: asyncio.Task[None] | None) -> None:
        if task is not None and not task.done():
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    def cancel_all(self) -> None:
        """Drop every queued test (Sim.reset)."""
        for job in self.jobs.values():
            self._stop(job.task)
        self.jobs.clear()

    async def run_pending(self) -> int:
        """Run every queued test now, without waiting for its delay; how many ran."""
        ran = 0
        while self.jobs:
            job = next(iter(self.jobs.values()))
            self._stop(job.task)
            self._finish(job)
            ran += 1
        await self._settle()
        return ran

    async def await_idle(self, limit_s: float = 30.0) -> None:
        """Wait until no test is queued (each runs after its own delay)."""
        async with asyncio.timeout(limit_s):
            while self.jobs:
                tasks = [job.task for job in self.jobs.values() if job.task is not None]
                if not tasks:
                    await self.run_pending()
                    break
                await asyncio.wait(tasks)
        await self._settle()

    async def _settle(self) -> None:
        if self._stopping:
            await asyncio.gather(*list(self._stopping), return_exceptions=True)


def scheduler(sim: Sim) -> Scheduler:
    """The sim's scheduler, created (and hooked into Sim.reset) on first use."""
    found = sim.extras.get(_EXTRAS_KEY)
    if isinstance(found, Scheduler):
        return found
    created = Scheduler(sim)
    sim.extras[_EXTRAS_KEY] = created
    sim.extras.setdefault("reset_hooks", []).append(created.cancel_all)
    return created


def schedule(sim: Sim, caller: EffectiveCaller, mailbox_id: str) -> None:
    """Queue Test & Enable for a mailbox on behalf of `caller` (rules.after_update)."""
    scheduler(sim).schedule(caller, mailbox_id)


async def run_pending(sim: Sim) -> int:
    """Run every queued Test & Enable now; returns how many ran."""
    return await scheduler(sim).run_pending()


async def await_idle(sim: Sim, limit_s: float = 30.0) -> None:
    """Wait until every queued Test & Enable has run on its own schedule (at most `limit_s`)."""
    await scheduler(sim).await_idle(limit_s)


def pending(sim: Sim) -> list[str]:
    """Mailbox ids with a test queued."""
    return list(scheduler(sim).jobs)


# ---- the test itself --------------------------------------------------------------------


def _organization(sim: Sim) -> Row:
    return next(iter(sim.state.tables.get("organizations", {}).values()), {})


def _approval_text(mailbox: Row, profile_name: str) -> str:
    # After Microsoft's KB "Mailbox requires an approval by an Office 365 administrator"
    # (read in its Italian edition; the English wording is the sim's).
    name = mailbox.get("name") or mailbox.get("emailaddress")
    return (
        f"Email can't be received or sent, and appointments, contacts, and tasks can't be "
        f"synchronized, because the email address of the mailbox {name} requires an approval "
        f"by an Office 365 administrator. The mailbox hasn't been synchronized. The owner of "
        f"the email server profile {profile_name} has been notified."
    )


def _no_profile_text(mailbox: Row) -> str:
    # reference §2: EmailServerProfileNotAssociated (0x8005E222).
    return (
        "Email Server Profile is not associated with the current mailbox "
        f"{mailbox.get('name') or mailbox.get('emailaddress')}. Associate an email server "
        "profile with the mailbox, and then test and enable it again."
    )


def _success_text(mailbox: Row, tested: list[Direction]) -> str:
    labels = {
        "incoming": "incoming email",
        "outgoing": "outgoing email",
        "act": "appointments, contacts, and tasks",
    }
    what = ", ".join(labels[d.name] for d in tested)
    if not what:
        what = "nothing was tested (no direction uses server-side synchronization)"
    return (
        f"The email configuration test completed successfully for the mailbox "
        f"{mailbox.get('name') or mailbox.get('emailaddress')}: {what}. The mailbox is enabled "
        "for email processing."
    )


def _failure_of(
    sim: Sim, mailbox: Row, caller: EffectiveCaller, tested: list[Direction]
) -> _Failure | None:
    state = sim.state
    if not tested:
        return None
    every = frozenset(d.name for d in tested)
    org = _organization(sim)
    column = (
        "requireapprovalforqueueemail"
        if mailbox.get("regardingobjecttypecode") == "queue"
        else "requireapprovalforuseremail"
    )
    if (
        org.get(column, True)
        and mailbox.get(APPROVAL) != 1
        and self_approval_failures(sim, caller, mailbox)
    ):
        profile = state.row("emailserverprofiles", str(mailbox.get("_emailserverprofile_value")))
        profile_name = str(profile.get("name")) if profile else "(none)"
        return _Failure(
            TRACECODE_APPROVAL_REQUIRED, _approval_text(mailbox, profile_name), False, every
        )
    if not mailbox.get("_emailserverprofile_value"):
        return _Failure(TRACECODE_NO_PROFILE, _no_profile_text(mailbox), False, every)
    outcome = state.test_outcomes.get(str(mailbox.get("mailboxid")), "success")
    if isinstance(outcome, TestFailure):
        return _Failure(
            outcome.code, outcome.text, outcome.permanent, frozenset(outcome.directions)
        )
    return None


def run_test(sim: Sim, mailbox_id: str, caller: EffectiveCaller) -> None:
    """Run one Test & Enable now (the queued job's body)."""
    state = sim.state
    mailbox = state.row("mailboxes", mailbox_id)
    if mailbox is None or not mailbox.get("testemailconfigurationscheduled"):
        return  # deleted, or unscheduled again before the job ran
    tested = [d for d in DIRECTIONS if mailbox.get(d.method_column) == d.server_side_sync]
    failure = _failure_of(sim, mailbox, caller, tested)
    statuses: list[int] = []
    for direction in DIRECTIONS:
        if direction not in tested:
            status = 0
        elif failure is not None and direction.name in failure.directions:
            status = 2
            if failure.permanent:
                mailbox[direction.enabled_column] = False
        else:
            status = 1
            mailbox[direction.enabled_column] = True
        mailbox[direction.status_column] = status
        statuses.append(status)
    mailbox["mailboxstatus"] = 2 if 2 in statuses else (1 if 1 in statuses else 0)
    if (
        failure is None
        and tested
        and mailbox.get(APPROVAL) != 1
        and not self_approval_failures(sim, caller, mailbox)
    ):
        approve_address(sim, caller, mailbox)
    now = iso(now_utc())
    mailbox["testmailboxaccesscompletedon"] = now
    mailbox["testandenablelastattemptedon"] = now
    mailbox["_testandenablelastattemptedby_value"] = caller.user_id
    mailbox["testemailconfigurationscheduled"] = False
    mailbox["testemailconfigurationretrycount"] = (
        int(mailbox.get("testemailconfigurationretrycount") or 0) + 1
    )
    state.touch(mailbox)
    if failure is None:
        write_alert(
            sim, mailbox, LEVEL_INFORMATION, TRACECODE_SUCCESS, _success_text(mailbox, tested)
        )
    else:
        write_alert(sim, mailbox, LEVEL_ERROR, failure.code, failure.text)


# ---- alerts -----------------------------------------------------------------------------


_ALERT_SETTING: Final = {
    LEVEL_INFORMATION: "generatealertsforinformation",
    LEVEL_WARNING: "generatealertsforwarnings",
    LEVEL_ERROR: "generatealertsforerrors",
}


def _alert_index(sim: Sim) -> dict[tuple[str, int], str]:
    state = sim.state
    cached = sim.extras.get(_ALERT_INDEX_KEY)
    if cached is not None and cached[0] is state:
        index: dict[tuple[str, int], str] = cached[1]
        return index
    index = {}
    for key, row in state.tables.get("tracelogs", {}).items():
        regarding = str(row.get("_regardingobjectid_value") or "").lower()
        code = row.get("tracecode")
        if regarding and isinstance(code, int):
            index.setdefault((regarding, code), key)
    sim.extras[_ALERT_INDEX_KEY] = (state, index)
    return index


def write_alert(sim: Sim, mailbox: Row, level: int, code: int, text: str) -> Row | None:
    """Write (or refresh) the mailbox alert for `code`; None when the org turned it off."""
    state = sim.state
    org = _organization(sim)
    if not org.get(_ALERT_SETTING[level], True):
        return None
    mailbox_id = str(mailbox.get("mailboxid")).lower()
    index = _alert_index(sim)
    fields: dict[str, Any] = {
        "level": level,
        "text": text[:2000],
        "tracecode": code,
        "tracestatus": level == LEVEL_INFORMATION,
        "errordetails": None if level == LEVEL_INFORMATION else text[:2048],
        "errortypedisplay": {1: "Information", 2: "Warning", 3: "Error"}[level],
    }
    key = index.get((mailbox_id, code))
    existing = state.row("tracelogs", key) if key else None
    if (
        existing is not None
        and str(existing.get("_regardingobjectid_value") or "").lower() == mailbox_id
        and existing.get("tracecode") == code
    ):
        existing.update(fields)
        state.touch(existing)  # §5.3: modifiedon = "updated and logged for the same object"
        return existing
    alert_id = str(uuid.uuid4())
    owner = mailbox.get("_ownerid_value") or (
        mailbox.get("_regardingobjectid_value")
        if mailbox.get("regardingobjecttypecode") == "systemuser"
        else None
    )
    row = state.insert(
        "tracelogs",
        alert_id,
        {
            "tracelogid": alert_id,
            **fields,
            "_regardingobjectid_value": mailbox_id,
            "regardingobjecttypecode": "mailbox",
            "regardingobjectownerid": owner,
            "machinename": "MAILOPS-SIM",
            "isunique": True,
            "canbedeleted": True,
            "collationlevel": 0,
            "_parenttracelogid_value": None,
            "traceactionxml": None,
            "tracedetailxml": None,
            "traceparameterxml": None,
        },
    )
    index[(mailbox_id, code)] = alert_id
    return row
