"""The mailbox monitor: incremental reads of each environment and the incident lifecycle.

| module | what |
|---|---|
| `watcher` | what changed since the `modifiedon` watermarks; full sweeps; the fleet index |
| `incidents` | dedupe, group, acknowledge, escalate, remind, inhibit, silence, resolve |
| `leader` | `Monitor`: the per-environment loop under a leader lease with a fencing token |
| `notifier` | the `Notifier` seam the bot implements with proactive messages |
| `store.oncall` | fixed lists and rotations; `who_is_on_call` (re-exported here) |
| `digest` | the daily digest |
| `config` | `MonitorConfig` |

The bot starts one `Monitor` per environment with `run_forever(stop)`, and routes the
incident card buttons to `monitor.engine` (`acknowledge`, `silence`, `retest`, `card`).
"""

from __future__ import annotations

from monitor.config import DEFAULT_INTERVAL, MonitorConfig, ProfileThreshold
from monitor.digest import DigestSender
from monitor.errors import (
    InvalidSilence,
    MonitorError,
    NoConversation,
    SilenceNeedsConfirmation,
    UnknownIncident,
)
from monitor.incidents import ActionResult, Applied, IncidentEngine, Reconciled, group_key
from monitor.leader import CycleReport, LeaseLost, Monitor, default_holder
from monitor.notifier import Audience, Notifier
from monitor.watcher import Health, Mark, Poll, Watcher, classify

# The on-call schedule lives in `store.oncall` (the dialogs read it too and may not import
# the monitor); re-exported so that `from monitor import FixedList, …` keeps working.
from store import (
    FixedList,
    Handover,
    OnCallSchedule,
    Responder,
    Rotation,
    escalation_order,
    who_is_on_call,
)

__all__ = [
    "DEFAULT_INTERVAL",
    "ActionResult",
    "Applied",
    "Audience",
    "CycleReport",
    "DigestSender",
    "FixedList",
    "Handover",
    "Health",
    "IncidentEngine",
    "InvalidSilence",
    "LeaseLost",
    "Mark",
    "Monitor",
    "MonitorConfig",
    "MonitorError",
    "NoConversation",
    "Notifier",
    "OnCallSchedule",
    "Poll",
    "ProfileThreshold",
    "Reconciled",
    "Responder",
    "Rotation",
    "SilenceNeedsConfirmation",
    "UnknownIncident",
    "Watcher",
    "classify",
    "default_holder",
    "escalation_order",
    "group_key",
    "who_is_on_call",
]
