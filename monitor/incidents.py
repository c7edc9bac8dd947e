"""The incident engine: what the watcher saw becomes incidents in `store`, and incidents
become cards in the on-call channel, with the lifecycle on-call people expect.

- **Key and dedupe.** An incident is environment + subject (mailbox or profile) + error
  code. The same failure again is one more sighting of the open incident (count and last
  seen move, the card is updated in place): no new message.
- **Grouping.** Mailbox incidents carry the group key `<profile>|<code>`; every open
  incident of a group shares one card. Thirty mailboxes of one profile failing with one code
  are one message listing them; a mailbox that fails the same way later joins that card.
- **States.** firing → acknowledged → resolved (store's compare-and-set moves); a
  grouped card acknowledges and resolves its members together.
- **Reminders and escalation.** A firing incident not acknowledged within `ack_timeout`
  of its last announcement escalates: level 1 mentions the next person on call, level 2
  posts to the approvers' channel. Open incidents are announced again every
  `repeat_interval`. Reminders and escalations are new messages; the original card stays
  the one that is kept up to date.
- **Inhibition.** While a profile incident is open, its mailboxes' incidents are held back
  (recorded, not announced); they are announced if they outlast it.
- **Silences.** Scoped to a mailbox, a profile or an error code, with a reason and an
  expiry; a silenced incident is not announced, reminded or escalated until the silence
  ends. A silence that covers more than one profile's mailboxes needs confirmation.
- **Resolution.** A mailbox whose status is Success again resolves its incidents (except
  a pending approval, which resolves when the address is no longer pending); a profile
  resolves when few enough of its mailboxes fail. The original card is updated.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from cards.common import Card, Mention
from cards.i18n import Strings, translator
from cards.incidents import (
    Cause,
    IncidentStatus,
    IncidentView,
    Member,
    Notice,
    SilenceInfo,
    Subject,
    incident_card,
)
from dataverse import DataverseClient
from dataverse.ops import test_and_enable_many
from monitor.config import MonitorConfig
from monitor.errors import (
    InvalidSilence,
    NoConversation,
    SilenceNeedsConfirmation,
    UnknownIncident,
)
from monitor.notifier import Audience, Notifier
from monitor.watcher import AlertSeen, Health, MailboxSeen, Poll
from store import (
    CardLocation,
    Incident,
    IncidentCache,
    IncidentState,
    InvalidInput,
    OnCallSchedule,
    Person,
    Responder,
    Sighting,
    Silence,
    SilenceScope,
    Store,
    SubjectKind,
    escalation_order,
)

log = logging.getLogger(__name__)

MAX_ESCALATION: Final = 2
"""Level 1: the next person on call; level 2: the approvers' channel."""
MAX_SILENCE: Final = timedelta(days=7)
CACHED_CARDS: Final = 16
"""How many cards' members the engine keeps between renders (the busiest cards)."""

Guard = Callable[[], Awaitable[None]]
"""Called before every message sent or updated; raises when this replica lost the lease."""


async def _no_guard() -> None:
    return None


def group_key(kind: SubjectKind, subject_id: str, profile_id: str | None, code: str) -> str:
    """Mailbox incidents group by profile and code; a profile incident is its own group."""
    if kind is SubjectKind.PROFILE:
        return f"profile:{subject_id}|{code}"
    return f"{profile_id or '-'}|{code}"


def profile_of(incident: Incident) -> str | None:
    """The server profile an incident is about, or its mailbox's profile."""
    if incident.subject_kind is SubjectKind.PROFILE:
        return incident.subject_id
    head = (incident.group_key or "").split("|", 1)[0]
    return None if head in ("", "-") or head.startswith("profile:") else head


@dataclass(frozen=True, slots=True)
class _Observation:
    kind: SubjectKind
    subject_id: str
    display: str
    code: str
    text: str | None
    profile_id: str | None


@dataclass
class Applied:
    """What applying one poll changed in the store."""

    opened: int = 0
    seen_again: int = 0
    resolved: int = 0
    retests: int = 0
    dirty: dict[CardLocation, str] = field(default_factory=dict)


@dataclass
class Reconciled:
    """What one reconciliation sent to Teams."""

    posted: int = 0
    updated: int = 0
    reminded: int = 0
    escalated: int = 0
    held_back: int = 0
    waiting: int = 0
    """Incidents not announced because the audience has no conversation yet."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The card after a button click (for the invoke answer) and where its message is."""

    card: Card
    location: CardLocation | None
    applied: bool


class IncidentEngine:
    """Incidents of one environment; see the module docstring.

    `apply(poll, open_incidents)` writes what a poll saw; `reconcile(guard)` sends what is
    due. The button handlers (`acknowledge`, `silence`, `retest`, `card`) may run on any
    replica, not only the leader.
    """

    def __init__(
        self,
        environment: str,
        store: Store,
        notifier: Notifier,
        config: MonitorConfig,
        *,
        client: DataverseClient | None = None,
        schedule: OnCallSchedule | None = None,
        profile_names: Callable[[str], str] | None = None,
        profile_counts: Callable[[str], tuple[int, int] | None] | None = None,
        mailbox_info: Callable[[str], tuple[str, str | None] | None] | None = None,
    ) -> None:
        self.environment = environment
        self._store = store
        self._notifier = notifier
        self._config = config
        self._client = client
        self.schedule = schedule
        self._profile_names = profile_names or (lambda key: key)
        self._profile_counts = profile_counts or (lambda key: None)
        self._mailbox_info = mailbox_info or (lambda key: None)
        self._profile_recovered: dict[str, datetime] = {}
        self._retested: dict[str, datetime] = {}
        self._held: Counter[str | None] = Counter()
        self.strings: Strings = translator(config.locale)
        # Copies of what the store last returned; every read checks them against the rows'
        # versions, so they only save reading unchanged rows again (see IncidentCache).
        self._open_cache = IncidentCache()
        self._card_caches: OrderedDict[CardLocation, IncidentCache] = OrderedDict()
        self._members: dict[tuple[uuid.UUID, int], Member] = {}
        self._members_before: dict[tuple[uuid.UUID, int], Member] = {}

    async def open_incidents(self) -> list[Incident]:
        """The environment's open incidents, oldest first (`store.incidents.open`), reading
        in full only those that changed since the last call."""
        return await self._store.incidents.open_cached(self.environment, self._open_cache)

    async def _on_card(self, location: CardLocation, key: str) -> list[Incident]:
        cache = self._card_caches.pop(location, None) or IncidentCache()
        self._card_caches[location] = cache  # the most recently rendered last
        while len(self._card_caches) > CACHED_CARDS:
            self._card_caches.popitem(last=False)
        return await self._store.incidents.on_card_cached(
            self.environment, key, location, cache, shared=self._open_cache
        )

    # ---- from a poll to the store -------------------------------------------------------

    async def apply(self, poll: Poll, open_incidents: Sequence[Incident]) -> Applied:
        """Open, count and resolve incidents for what one poll read."""
        result = Applied()
        by_mailbox: dict[str, list[Incident]] = defaultdict(list)
        by_key: dict[tuple[SubjectKind, str, str], Incident] = {}
        # Between sweeps only the mailboxes this poll read are looked up (thousands may
        # have open incidents, a few changed); profiles and pending approvals always are.
        touched = (
            None
            if poll.sweep
            else {m.id for m in poll.mailboxes} | {a.regarding_id for a in poll.alerts}
        )
        mailbox, approval = SubjectKind.MAILBOX, Cause.APPROVAL_PENDING.value
        for incident in open_incidents:
            kind, subject = incident.subject_kind, incident.subject_id
            if (
                touched is not None
                and kind is mailbox
                and subject not in touched
                and incident.error_code != approval
            ):
                continue
            by_key[(kind, subject, incident.error_code)] = incident
            if kind is mailbox:
                by_mailbox[subject].append(incident)
        observations: dict[tuple[SubjectKind, str, str], _Observation] = {}
        recovered: dict[str, MailboxSeen] = {}
        rows = {m.id: m for m in poll.mailboxes}
        alerted = {a.regarding_id for a in poll.alerts}

        def observe(obs: _Observation) -> None:
            key = (obs.kind, obs.subject_id, obs.code)
            if poll.sweep and (
                key in by_key
                or (obs.kind is SubjectKind.MAILBOX and _failures(by_mailbox[obs.subject_id]))
            ):
                return  # a sweep reports what was missed, not another occurrence
            observations.setdefault(key, obs)

        for row in poll.mailboxes:
            if row.health in (Health.FAILING, Health.DISABLED):
                code, text = _cause(row, poll.latest_alerts.get(row.id))
                observe(
                    _Observation(
                        SubjectKind.MAILBOX, row.id, row.display, code, text, row.profile_id
                    )
                )
                await self._maybe_retest(row, poll, alerted, by_mailbox, result)
            elif row.health in (Health.HEALTHY, Health.INACTIVE):
                recovered[row.id] = row
        for alert in poll.alerts:
            self._observe_alert(alert, rows, recovered, by_mailbox, observe)

        sightings = [
            Sighting(
                obs.kind,
                obs.subject_id,
                obs.display[:256],
                obs.code,
                obs.text,
                group_key(obs.kind, obs.subject_id, obs.profile_id, obs.code),
            )
            for obs in observations.values()
        ]
        observations_made = await self._store.incidents.observe_many(self.environment, sightings)
        self._store.incidents.remember(
            self._open_cache, (observed.incident for observed in observations_made)
        )
        for observed in observations_made:
            incident = observed.incident
            by_key[(incident.subject_kind, incident.subject_id, incident.error_code)] = incident
            if observed.opened:
                result.opened += 1
            else:
                result.seen_again += 1
                self._touch(result, incident)

        fixed: list[Incident] = []
        for mailbox_id, row in recovered.items():
            if row.profile_id is not None:
                previous = self._profile_recovered.get(row.profile_id)
                if previous is None or row.modified_on > previous:
                    self._profile_recovered[row.profile_id] = row.modified_on
            fixed += _failures(by_mailbox.get(mailbox_id, []))

        if poll.sweep:  # a mailbox deleted since its incident opened: nothing left to fix
            present = {m.id for m in poll.mailboxes}
            for mailbox_id, incidents in by_mailbox.items():
                if mailbox_id not in present:
                    fixed += incidents
        await self._resolve_all(fixed, result)

        await self._profiles(poll, by_key, result)
        if poll.pending is not None:
            await self._approvals(poll, open_incidents, by_key, result)
        return result

    def _observe_alert(
        self,
        alert: AlertSeen,
        rows: dict[str, MailboxSeen],
        recovered: dict[str, MailboxSeen],
        by_mailbox: dict[str, list[Incident]],
        observe: Callable[[_Observation], None],
    ) -> None:
        if alert.regarding is SubjectKind.PROFILE:
            name = self._profile_names(alert.regarding_id)
            observe(
                _Observation(
                    SubjectKind.PROFILE,
                    alert.regarding_id,
                    name,
                    alert.code,
                    alert.text,
                    alert.regarding_id,
                )
            )
            return
        row = rows.get(alert.regarding_id)
        if row is not None and row.health in (Health.HEALTHY, Health.INACTIVE):
            if row.modified_on >= alert.modified_on:
                return  # the mailbox recovered after this alert was logged
            recovered.pop(row.id, None)
        display, profile = self._describe(alert.regarding_id, row, by_mailbox)
        observe(
            _Observation(
                SubjectKind.MAILBOX,
                alert.regarding_id,
                display or alert.regarding_id,
                alert.code,
                alert.text,
                profile,
            )
        )

    def _describe(
        self, mailbox_id: str, row: MailboxSeen | None, by_mailbox: dict[str, list[Incident]]
    ) -> tuple[str | None, str | None]:
        """A mailbox's name and profile: from this poll, the fleet index, or an incident."""
        if row is not None:
            return row.display, row.profile_id
        indexed = self._mailbox_info(mailbox_id)
        if indexed is not None:
            return indexed
        known = by_mailbox.get(mailbox_id, [])
        if known:
            return known[0].subject_display, profile_of(known[0])
        return None, None

    async def _maybe_retest(
        self,
        row: MailboxSeen,
        poll: Poll,
        alerted: set[str],
        by_mailbox: dict[str, list[Incident]],
        result: Applied,
    ) -> None:
        # A failing mailbox that changed without a new test result (no alert came with
        # it) was probably fixed by someone: test it again, at most once per cooldown.
        if (
            not self._config.auto_retest
            or poll.sweep
            or self._client is None
            or row.health is not Health.FAILING
            or row.previous is not Health.FAILING
            or row.id in alerted
            or not _failures(by_mailbox.get(row.id, []))
        ):
            return
        now = self._store.now()
        last = self._retested.get(row.id)
        if last is not None and now - last < self._config.retest_cooldown:
            return
        self._retested[row.id] = now
        outcome = await test_and_enable_many(self._client, [row.id])
        result.retests += sum(1 for item in outcome if item.error is None)

    async def _profiles(
        self,
        poll: Poll,
        by_key: dict[tuple[SubjectKind, str, str], Incident],
        result: Applied,
    ) -> None:
        threshold = self._config.profile_threshold
        for profile in poll.profiles.values():
            key = (SubjectKind.PROFILE, profile.id, Cause.PROFILE_FAILING.value)
            current = by_key.get(key)
            if current is None and threshold.failing(profile.failing, profile.total):
                observed = await self._store.incidents.observe(
                    environment=self.environment,
                    subject_kind=SubjectKind.PROFILE,
                    subject_id=profile.id,
                    subject_display=profile.name[:256],
                    error_code=Cause.PROFILE_FAILING.value,
                    group_key=group_key(
                        SubjectKind.PROFILE, profile.id, profile.id, Cause.PROFILE_FAILING
                    ),
                )
                by_key[key] = observed.incident
                result.opened += int(observed.opened)
            elif current is not None and threshold.recovered(profile.failing, profile.total):
                await self._resolve(current, result)
                by_key.pop(key, None)
        # A profile's own alerts end when few of its mailboxes fail and one recovered since.
        for (kind, subject, code), incident in list(by_key.items()):
            if kind is not SubjectKind.PROFILE or code == Cause.PROFILE_FAILING.value:
                continue
            counts = poll.profiles.get(subject)
            recovered_at = self._profile_recovered.get(subject)
            if (
                counts is not None
                and threshold.recovered(counts.failing, counts.total)
                and recovered_at is not None
                and recovered_at > incident.last_seen
            ):
                await self._resolve(incident, result)
                by_key.pop((kind, subject, code), None)

    async def _approvals(
        self,
        poll: Poll,
        open_incidents: Sequence[Incident],
        by_key: dict[tuple[SubjectKind, str, str], Incident],
        result: Applied,
    ) -> None:
        assert poll.pending is not None
        code = Cause.APPROVAL_PENDING.value
        for item in poll.pending:
            if (SubjectKind.MAILBOX, item.mailbox_id, code) in by_key:
                continue
            observed = await self._store.incidents.observe(
                environment=self.environment,
                subject_kind=SubjectKind.MAILBOX,
                subject_id=item.mailbox_id,
                subject_display=item.name[:256],
                error_code=code,
                group_key=group_key(SubjectKind.MAILBOX, item.mailbox_id, item.profile_id, code),
            )
            result.opened += int(observed.opened)
        if poll.still_pending is None:
            return
        for incident in open_incidents:
            if incident.error_code == code and incident.subject_id not in poll.still_pending:
                await self._resolve(incident, result)

    async def _resolve(self, incident: Incident, result: Applied) -> None:
        change = await self._store.incidents.resolve(incident.id)
        if change.applied:
            result.resolved += 1
            self._touch(result, change.incident)

    async def _resolve_all(self, incidents: Sequence[Incident], result: Applied) -> None:
        """`_resolve` for each of `incidents` (in a few statements), in their order."""
        if not incidents:
            return
        moved = {
            i.id: i for i in await self._store.incidents.resolve_many([i.id for i in incidents])
        }
        for incident in incidents:
            done = moved.pop(incident.id, None)
            if done is not None:
                result.resolved += 1
                self._touch(result, done)

    @staticmethod
    def _touch(result: Applied, incident: Incident) -> None:
        if incident.card is not None and incident.group_key is not None:
            result.dirty[incident.card] = incident.group_key

    # ---- from the store to Teams ------------------------------------------------------------

    async def reconcile(
        self, *, guard: Guard = _no_guard, dirty: dict[CardLocation, str] | None = None
    ) -> Reconciled:
        """Announce new incidents, join late ones to their group's card, escalate, remind,
        and update every card whose content changed (`dirty`, plus what this call changes)."""
        report = Reconciled()
        # Lines not used since the reconciliation before last are forgotten.
        self._members_before, self._members = self._members, {}
        dirty = dict(dirty or {})
        now = self._store.now()
        incidents = await self.open_incidents()
        silences = await self._store.silences.active(environment=self.environment)
        failing_profiles = {
            i.subject_id for i in incidents if i.subject_kind is SubjectKind.PROFILE
        }
        self._held = Counter(
            profile
            for i in incidents
            if failing_profiles
            and i.subject_kind is SubjectKind.MAILBOX
            and (profile := profile_of(i)) in failing_profiles
        )
        groups: dict[str, list[Incident]] = defaultdict(list)
        for incident in incidents:
            silence = _silence_for(incident, silences)
            wanted = None if silence is None else silence.id
            if incident.silenced_by != wanted:
                incident = await self._store.incidents.set_silenced_by(incident.id, wanted)
                if incident.card is not None and incident.group_key is not None:
                    dirty[incident.card] = incident.group_key
            groups[incident.group_key or str(incident.id)].append(incident)
        # Groups without a card first: their new messages are what a change waits for; the
        # bookkeeping of the others (joining a card, reminders, escalations) comes after.
        ordered = sorted(groups.items(), key=lambda group: _has_card(group[1]))
        for key, members in ordered:
            try:
                await self._reconcile_group(
                    key, members, failing_profiles, now, guard, dirty, report
                )
            except NoConversation:
                report.waiting += len(members)
        for location, key in dirty.items():
            await guard()
            try:
                await self._notifier.update(location, await self._render(location, key))
            except NoConversation:
                continue
            report.updated += 1
        return report

    def _muted(self, incident: Incident, failing_profiles: set[str]) -> bool:
        if incident.silenced_by is not None:
            return True
        return (
            bool(failing_profiles)
            and incident.subject_kind is SubjectKind.MAILBOX
            and profile_of(incident) in failing_profiles
        )

    async def _reconcile_group(
        self,
        key: str,
        members: list[Incident],
        failing_profiles: set[str],
        now: datetime,
        guard: Guard,
        dirty: dict[CardLocation, str],
        report: Reconciled,
    ) -> None:
        active = [m for m in members if not self._muted(m, failing_profiles)]
        report.held_back += len(members) - len(active)
        located = [m for m in members if m.card is not None]
        location = max(located, key=lambda m: m.first_seen).card if located else None
        fresh = [m for m in active if m.card is None]
        if fresh:
            if location is None:
                people = self._order(now)
                mention = people[0] if people else None
                await guard()
                location = await self._notifier.post(
                    self._card(key, active, notice=Notice.NEW, mention=mention),
                    audience=Audience.ON_CALL,
                    mentions=[mention] if mention else [],
                )
                report.posted += 1
            else:
                dirty[location] = key
            await self._store.incidents.record_notifications(
                [member.id for member in fresh], card=location, cache=self._open_cache
            )
            return  # announced now: nothing else is due in this group
        announced = [m for m in active if m.card is not None]
        if not announced:
            return
        firing = [m for m in announced if m.state is IncidentState.FIRING]
        last = max(m.last_notified_at or m.first_seen for m in announced)
        if firing:
            level = min(m.escalation_level for m in firing)
            if level < MAX_ESCALATION and now - last >= self._config.ack_timeout:
                await self._escalate(key, firing, level, now, guard, report)
                if location is not None:
                    dirty[location] = key
                return
        if now - last >= self._config.repeat_interval:
            people = self._order(now)
            mention = people[0] if people else None
            await guard()
            await self._notifier.post(
                self._card(key, announced, notice=Notice.REMINDER, mention=mention),
                audience=Audience.ON_CALL,
                mentions=[mention] if mention else [],
            )
            await self._store.incidents.record_notifications(
                [m.id for m in announced], cache=self._open_cache
            )
            report.reminded += 1

    async def _escalate(
        self,
        key: str,
        firing: list[Incident],
        level: int,
        now: datetime,
        guard: Guard,
        report: Reconciled,
    ) -> None:
        await guard()
        moved = False
        for member in firing:
            if member.escalation_level == level:
                change = await self._store.incidents.escalate(member.id, from_level=level)
                moved = moved or change.applied
        if not moved:
            return  # another replica escalated it first
        people = self._order(now)
        if level + 1 == 1:
            target = people[1] if len(people) > 1 else (people[0] if people else None)
            await self._notifier.post(
                self._card(key, firing, notice=Notice.ESCALATED, mention=target, level=1),
                audience=Audience.ON_CALL,
                mentions=[target] if target else [],
            )
        else:
            card = self._card(key, firing, notice=Notice.ESCALATED_TO_APPROVERS, level=level + 1)
            try:
                await self._notifier.post(card, audience=Audience.APPROVERS)
            except NoConversation:
                # No approvers' channel yet: the on-call channel is told instead of nobody.
                await self._notifier.post(card, audience=Audience.ON_CALL)
        report.escalated += 1

    def _order(self, now: datetime) -> tuple[Responder, ...]:
        return () if self.schedule is None else escalation_order(self.schedule, now)

    # ---- rendering -----------------------------------------------------------------------

    def _card(
        self,
        key: str,
        members: Sequence[Incident],
        *,
        notice: Notice | None = None,
        mention: Responder | None = None,
        level: int | None = None,
        silences: dict[uuid.UUID, Silence] | None = None,
    ) -> Card:
        view = self.view(members, silences=silences or {})
        lead = members[0]
        if lead.subject_kind is SubjectKind.PROFILE and self._held.get(lead.subject_id):
            view = replace(view, held_back=self._held[lead.subject_id])
        if level is not None:
            view = _with_level(view, level, self._escalated_to(level))
        return incident_card(
            self.strings,
            view,
            environment=self.environment,
            notice=notice,
            mention=None if mention is None else Mention(mention.name, mention.user_id),
            max_listed=self._config.max_listed,
        )

    def _escalated_to(self, level: int) -> str | None:
        if level != 1:
            return None
        people = self._order(self._store.now())
        return people[1].name if len(people) > 1 else None

    def view(
        self, members: Sequence[Incident], *, silences: dict[uuid.UUID, Silence]
    ) -> IncidentView:
        """The card view of an incident or a group (members sharing a card)."""
        # By first seen, then id (a UUID's integer orders it as its text does).
        ordered = sorted(members, key=lambda m: (m.first_seen, m.id.int))
        lead = ordered[0]
        open_members = [m for m in ordered if m.state is not IncidentState.RESOLVED]
        if not open_members:
            status = IncidentStatus.RESOLVED
        elif any(m.state is IncidentState.FIRING for m in open_members):
            status = IncidentStatus.FIRING
        else:
            status = IncidentStatus.ACKNOWLEDGED
        acked = [m for m in ordered if m.acknowledged_by is not None]
        ack = max(acked, key=lambda m: m.acknowledged_at or m.first_seen) if acked else None
        silenced = [m.silenced_by for m in open_members]
        silence = None
        if open_members and all(s is not None for s in silenced):
            found = silences.get(silenced[0]) if silenced[0] is not None else None
            if found is not None:
                silence = SilenceInfo(found.expires_at, found.reason, found.created_by.name)
        profile_id = profile_of(lead)
        profile_name = None if profile_id is None else self._profile_names(profile_id)
        kind = Subject(lead.subject_kind.value)
        cause_counts = (
            self._profile_counts(lead.subject_id)
            if lead.subject_kind is SubjectKind.PROFILE
            and lead.error_code == Cause.PROFILE_FAILING.value
            else None
        )
        resolved = [m.resolved_at for m in ordered if m.resolved_at is not None]
        return IncidentView(
            incident_id=str(lead.id),
            subject=kind,
            name=lead.subject_display,
            error_code=lead.error_code,
            status=status,
            first_seen=min(m.first_seen for m in ordered),
            last_seen=max(m.last_seen for m in ordered),
            count=sum(m.count for m in ordered),
            profile=profile_name,
            error_text=lead.error_text,
            acknowledged_by=None
            if ack is None or ack.acknowledged_by is None
            else ack.acknowledged_by.name,
            acknowledged_at=None if ack is None else ack.acknowledged_at,
            resolved_at=max(resolved) if resolved and status is IncidentStatus.RESOLVED else None,
            silence=silence,
            escalation_level=min((m.escalation_level for m in open_members), default=0),
            escalated_to=self._escalated_to(1),
            members=[self._member(m) for m in ordered] if len(ordered) > 1 else (),
            profile_failing=cause_counts,
            can_retest=lead.subject_kind is SubjectKind.MAILBOX
            and lead.error_code != Cause.APPROVAL_PENDING.value,
        )

    def _member(self, incident: Incident) -> Member:
        """A group card's line for one incident, made once per incident version: a busy
        group's card lists thousands, and most did not change since the last update."""
        key = (incident.id, incident.version)
        member = self._members.get(key) or self._members_before.get(key)
        if member is None:
            member = Member(incident.subject_display, _status(incident.state), incident.count)
        self._members[key] = member
        return member

    async def _render(self, location: CardLocation, key: str) -> Card:
        members = await self._on_card(location, key)
        silences = await self._silences()
        held = 0
        if members and members[0].subject_kind is SubjectKind.PROFILE:
            profile = members[0].subject_id
            held = sum(
                1
                for i in await self.open_incidents()
                if i.subject_kind is SubjectKind.MAILBOX and profile_of(i) == profile
            )
        view = self.view(members, silences=silences)
        if held:
            view = replace(view, held_back=held)
        return incident_card(
            self.strings,
            view,
            environment=self.environment,
            max_listed=self._config.max_listed,
        )

    async def _silences(self) -> dict[uuid.UUID, Silence]:
        active = await self._store.silences.active(environment=self.environment)
        return {s.id: s for s in active}

    # ---- buttons ------------------------------------------------------------------------------

    async def _members_of(self, incident_id: uuid.UUID) -> tuple[Incident, list[Incident]]:
        incident = await self._store.incidents.get(incident_id)
        if incident is None or incident.environment != self.environment:
            raise UnknownIncident(str(incident_id))
        if incident.card is None or incident.group_key is None:
            return incident, [incident]
        return incident, await self._store.incidents.on_card(
            self.environment, incident.group_key, incident.card
        )

    async def card(self, incident_id: uuid.UUID) -> ActionResult:
        """The current card of an incident (refresh, or Open status from a stale copy)."""
        incident, members = await self._members_of(incident_id)
        return await self._result(incident, members, applied=False, update=False)

    async def acknowledge(self, incident_id: uuid.UUID, *, by: Person) -> ActionResult:
        """Acknowledge the incident (and every open incident sharing its card); the card then
        shows who. A second click, or one after resolution, changes nothing."""
        incident, members = await self._members_of(incident_id)
        applied = False
        for member in members:
            if member.state is IncidentState.FIRING:
                change = await self._store.incidents.acknowledge(member.id, by=by)
                applied = applied or change.applied
        return await self._result(incident, members, applied=applied)

    async def resolve(self, incident_id: uuid.UUID) -> ActionResult:
        """Resolve by hand (e.g. a warning that no later row change will clear), with every
        open incident sharing its card."""
        incident, members = await self._members_of(incident_id)
        applied = False
        for member in members:
            if member.state is not IncidentState.RESOLVED:
                change = await self._store.incidents.resolve(member.id)
                applied = applied or change.applied
        return await self._result(incident, members, applied=applied)

    async def silence(
        self,
        incident_id: uuid.UUID,
        *,
        hours: float,
        reason: str,
        by: Person,
    ) -> ActionResult:
        """Silence what the card is about for `hours`: the mailbox of a mailbox incident,
        the profile of a grouped or profile incident."""
        incident, members = await self._members_of(incident_id)
        profile = profile_of(incident)
        targets: list[tuple[SilenceScope, str]]
        if profile is not None and (
            len(members) > 1 or incident.subject_kind is SubjectKind.PROFILE
        ):
            targets = [(SilenceScope.PROFILE, profile)]
        else:  # one mailbox, or mailboxes without a profile: each on its own
            targets = sorted(
                {
                    (SilenceScope.MAILBOX, m.subject_id)
                    for m in members
                    if m.subject_kind is SubjectKind.MAILBOX
                    and m.state is not IncidentState.RESOLVED
                }
            )
        for scope, value in targets:
            await self.silence_scope(
                scope, value, reason=reason, duration=timedelta(hours=hours), by=by
            )
        return await self._result(incident, members, applied=bool(targets))

    async def silence_scope(
        self,
        scope: SilenceScope,
        value: str,
        *,
        reason: str,
        duration: timedelta,
        by: Person,
        all_environments: bool = False,
        confirmed: bool = False,
    ) -> Silence:
        """Create a silence (chat: `silence error 3 for 2h because …`).

        Raises:
            InvalidSilence: no reason, or a duration not in (0, 7 days].
            SilenceNeedsConfirmation: an error code (it spans profiles) or every environment,
                without `confirmed`.
        """
        if not reason.strip():
            msg = "a silence needs a reason"
            raise InvalidSilence(msg)
        if not timedelta(0) < duration <= MAX_SILENCE:
            msg = f"a silence lasts more than nothing and at most {MAX_SILENCE}"
            raise InvalidSilence(msg)
        if (scope is SilenceScope.ERROR_CODE or all_environments) and not confirmed:
            msg = f"silencing {scope.value} {value!r} covers more than one server profile"
            raise SilenceNeedsConfirmation(msg)
        try:
            silence = await self._store.silences.create(
                scope=scope,
                value=value,
                reason=reason,
                created_by=by,
                expires_in=duration,
                environment=None if all_environments else self.environment,
            )
        except InvalidInput as exc:
            raise InvalidSilence(str(exc)) from exc
        for incident in await self._store.incidents.open(environment=self.environment):
            if _silence_for(incident, [silence]) is not None and incident.silenced_by is None:
                await self._store.incidents.set_silenced_by(incident.id, silence.id)
        return silence

    async def retest(self, incident_id: uuid.UUID, *, by: Person | None = None) -> int:
        """Schedule Test & Enable for the incident's open mailboxes (as `by`, through
        `CallerObjectId`, so Dataverse checks that person's privileges). Returns how many
        tests were queued."""
        if self._client is None:
            return 0
        _incident, members = await self._members_of(incident_id)
        mailboxes = sorted(
            {
                m.subject_id
                for m in members
                if m.subject_kind is SubjectKind.MAILBOX and m.state is not IncidentState.RESOLVED
            }
        )
        if not mailboxes:
            return 0
        outcome = await test_and_enable_many(
            self._client, mailboxes, acting_for=None if by is None else by.object_id
        )
        return sum(1 for item in outcome if item.error is None)

    async def _result(
        self,
        incident: Incident,
        members: list[Incident],
        *,
        applied: bool,
        update: bool = True,
    ) -> ActionResult:
        if incident.card is not None and incident.group_key is not None:
            card = await self._render(incident.card, incident.group_key)
            if update:
                try:
                    await self._notifier.update(incident.card, card)
                except NoConversation:
                    log.warning("incident %s: its conversation is gone", incident.id)
            return ActionResult(card, incident.card, applied)
        fresh = [await self._store.incidents.get(m.id) for m in members]
        silences = await self._silences()
        view = self.view([m for m in fresh if m is not None], silences=silences)
        card = incident_card(self.strings, view, environment=self.environment)
        return ActionResult(card, None, applied)


def _has_card(members: Iterable[Incident]) -> bool:
    return any(m.card is not None for m in members)


def _failures(incidents: Iterable[Incident]) -> list[Incident]:
    """The incidents a mailbox's recovery resolves: all but a pending approval."""
    return [i for i in incidents if i.error_code != Cause.APPROVAL_PENDING.value]


def _cause(row: MailboxSeen, alert: AlertSeen | None) -> tuple[str, str | None]:
    if alert is not None:
        return alert.code, alert.text
    if row.health is Health.DISABLED:
        return Cause.PROCESSING_DISABLED.value, None
    return Cause.STATUS.value, None


def _silence_for(incident: Incident, silences: Sequence[Silence]) -> Silence | None:
    """The silence that lasts longest among those covering the incident."""
    if not silences:
        return None
    profile = profile_of(incident)
    covering = [
        s
        for s in silences
        if (s.scope is SilenceScope.ERROR_CODE and s.value == incident.error_code)
        or (s.scope is SilenceScope.PROFILE and profile is not None and s.value == profile)
        or (
            s.scope is SilenceScope.MAILBOX
            and incident.subject_kind is SubjectKind.MAILBOX
            and s.value == incident.subject_id
        )
    ]
    return max(covering, key=lambda s: (s.expires_at, str(s.id))) if covering else None


_STATUSES: Final = {state: IncidentStatus(state.value) for state in IncidentState}


def _status(state: IncidentState) -> IncidentStatus:
    return _STATUSES[state]


def _with_level(view: IncidentView, level: int, escalated_to: str | None) -> IncidentView:
    return replace(view, escalation_level=level, escalated_to=escalated_to)
