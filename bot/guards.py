"""Who may talk to the bot, and how fast: the tenant allow-list and the per-person rate limit.

**Tenants.** `MAILOPS_ALLOWED_TENANTS` lists the Entra tenant ids whose activities the bot
serves, comma-separated; empty means only `MAILOPS_TENANT_ID` (the tenant of the Dataverse
environments); `*` means any tenant, and has to be said explicitly. The tenant of an activity
is `conversation.tenantId` and `channelData.tenant.id` (reference/teams.md §2.6): one of them
is enough, and an activity whose two disagree is refused whatever the list says; an
activity that names none is refused unless the list is `*`.

An activity from another tenant is answered **HTTP 403 after authentication and before the
turn runs**: no dialog sees it, nothing is asked of Dataverse or Graph, and nothing is sent
back into that tenant. A polite card was considered and left out: it would be a reply into a
tenant the bot does not serve, telling strangers what the bot is and does, and each refused
message would cost a Bot Connector call. Refusals are logged at WARNING with the tenant id
and counted (`mailops_turns_total{outcome="refused"}`).

**Rate limit.** Each person (keyed by Entra object id; the Teams user id, then the
conversation, when an activity has none) has a token bucket of `MAILOPS_RATE_BURST` tokens
(default 10) refilled at `MAILOPS_RATE_PER_MINUTE` per minute (default 20; 0 turns the limit
off). Every typed message and every card click takes one token; installing the app does
not. Without a token, the person gets a card "slow down a little, try again in N s" and the
command is not run, so no Dataverse call is made for it. A click answers with the same words
as a message, leaving the clicked card as it was.

The buckets live in the memory of one process: with several replicas a person may reach
the rate once per replica, and a restart refills every bucket. Dataverse's own limits
(6000 requests per user per 5 minutes, reference/dataverse.md §6.3) count the bot's
application user as one user for everyone, which is what this limit protects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from botbuilder.schema import Activity

from bot.config import TENANT_ID, Settings
from cards.common import ErrorKind, error_card, error_text
from cards.i18n import translator
from dialogs.turn import Card, Dispatcher, Turn

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger("mailops.guards")

ANY_TENANT: Final = "*"
MAX_BUCKETS: Final = 10_000  # full buckets are forgotten once there are more than this


def tenants_named(activity: Activity) -> frozenset[str]:
    """Every tenant id the activity names, lower-cased: `conversation.tenantId` and
    `channelData.tenant.id` (reference/teams.md §2.6; Teams sends both).

    botbuilder's ConversationAccount maps its `tenant_id` to the JSON key `tenantID`, so the
    `tenantId` Teams sends lands in the model's `additional_properties`: both are read.
    """
    named: set[str] = set()
    conversation = activity.conversation
    if conversation is not None:
        extra = getattr(conversation, "additional_properties", None)
        named.add(_tenant_id(getattr(conversation, "tenant_id", None)))
        named.add(_tenant_id(extra.get("tenantId") if isinstance(extra, dict) else None))
    if isinstance(activity.channel_data, dict):
        tenant = activity.channel_data.get("tenant")
        named.add(_tenant_id(tenant.get("id") if isinstance(tenant, dict) else None))
    named.discard("")
    return frozenset(named)


def _tenant_id(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def tenant_of(activity: Activity) -> str:
    """The tenant id the activity names, lower-cased; "" when it names none, or names two
    that disagree (`Guards.refusal` refuses those)."""
    named = tenants_named(activity)
    return next(iter(named)) if len(named) == 1 else ""


@dataclass(frozen=True)
class TenantAllowList:
    """The tenants served; `None` stands for any tenant."""

    tenants: frozenset[str] | None

    @classmethod
    def from_settings(cls, settings: Settings) -> TenantAllowList:
        if settings.allowed_tenants == (ANY_TENANT,):
            return cls(None)
        if settings.allowed_tenants:
            return cls(frozenset(settings.allowed_tenants))
        own = settings.tenant_id.strip().lower()
        if not TENANT_ID.fullmatch(own):
            # MSAL accepts a domain as the tenant; activities carry the id. Refusing all is
            # the safe reading, said loudly.
            log.warning(
                "MAILOPS_TENANT_ID=%s is not a tenant id (GUID), so no activity matches it: "
                "set MAILOPS_ALLOWED_TENANTS to the tenant ids the bot serves",
                settings.tenant_id,
            )
        return cls(frozenset({own}))

    def admits(self, tenant: str) -> bool:
        return self.tenants is None or (bool(tenant) and tenant.lower() in self.tenants)


class RateLimiter:
    """Token buckets per key: `burst` tokens, refilled at `per_minute` tokens a minute."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            msg = "a rate limit needs per_minute > 0 and burst >= 1"
            raise ValueError(msg)
        self._rate = per_minute / 60.0  # tokens per second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)
        self._max_buckets = max_buckets
        self._prune_above = max_buckets

    def take(self, key: str) -> float | None:
        """Spend one of `key`'s tokens: None if there was one, else the seconds until there
        is (nothing is spent then)."""
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self._prune_above:
                self._prune(now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self._rate

    def _tokens(self, key: str, now: float) -> float:
        held = self._buckets.get(key)
        if held is None:
            return self._burst
        tokens, at = held
        return min(self._burst, tokens + max(0.0, now - at) * self._rate)

    def _prune(self, now: float) -> None:
        """Forget full buckets (the same as no bucket); if most are in use, prune less often."""
        for key in [k for k in self._buckets if self._tokens(k, now) >= self._burst]:
            del self._buckets[key]
        self._prune_above = max(self._max_buckets, 2 * len(self._buckets))

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class Guards:
    """The allow-list and the rate limit of one app."""

    tenants: TenantAllowList
    limiter: RateLimiter | None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> Guards:
        limiter = (
            RateLimiter(settings.rate_per_minute, settings.rate_burst, clock=clock)
            if settings.rate_per_minute > 0
            else None
        )
        return cls(TenantAllowList.from_settings(settings), limiter)

    @classmethod
    def open(cls) -> Guards:
        """Any tenant, no limit: for apps built without settings (tests, the bench)."""
        return cls(TenantAllowList(None), None)

    def refusal(self, activity: Activity) -> str | None:
        """Why the activity is not served (None when it is); a refusal is logged."""
        named = tenants_named(activity)
        if len(named) > 1:
            # conversation.tenantId and channelData.tenant.id disagree: no reading of them
            # can be trusted, whatever the allow-list says.
            log.warning("activity refused: it names two tenants, %s", " and ".join(sorted(named)))
            return "the activity's conversation.tenantId and channelData.tenant.id disagree"
        tenant = next(iter(named), "")
        if self.tenants.admits(tenant):
            return None
        log.warning(
            "activity refused: tenant %s is not in MAILOPS_ALLOWED_TENANTS", tenant or "(none)"
        )
        return "this bot does not serve the activity's tenant"

    def wait_s(self, turn: Turn) -> float | None:
        """None when the turn's sender may go on (a token is spent), else seconds to wait."""
        if self.limiter is None:
            return None
        caller = turn.caller
        key = caller.object_id or caller.channel_user_id or turn.conversation.id
        wait = self.limiter.take(key)
        if wait is not None:
            log.info("rate limit: %s must wait %.1f s", key, wait)
        return wait


class GuardedDispatcher:
    """The dispatcher behind the rate limit; also tells the metrics when a turn fails."""

    def __init__(self, inner: Dispatcher, guards: Guards, metrics: Metrics) -> None:
        self.inner = inner
        self._guards = guards
        self._metrics = metrics

    async def on_message(self, turn: Turn) -> None:
        wait = self._guards.wait_s(turn)
        if wait is not None:
            self._metrics.mark_turn("limited")
            await turn.reply(limited_card(turn, wait))
            return
        try:
            await self.inner.on_message(turn)
        except Exception:  # counted here, answered by the adapter's on_turn_error
            self._metrics.mark_turn("error")
            raise

    async def on_execute(self, turn: Turn) -> Card | str:
        wait = self._guards.wait_s(turn)
        if wait is not None:
            self._metrics.mark_turn("limited")
            return error_text(translator(turn.locale), ErrorKind.RATE_LIMITED, retry_after=wait)
        try:
            return await self.inner.on_execute(turn)
        except Exception:  # counted here, answered by the adapter's on_turn_error
            self._metrics.mark_turn("error")
            raise

    async def on_installed(self, turn: Turn) -> None:
        try:
            await self.inner.on_installed(turn)
        except Exception:  # counted here, answered by the adapter's on_turn_error
            self._metrics.mark_turn("error")
            raise


def limited_card(turn: Turn, wait_s: float) -> Card:
    """The polite answer to a person over their rate."""
    return error_card(
        translator(turn.locale),
        ErrorKind.RATE_LIMITED,
        correlation_id=turn.correlation_id,
        retry_after=wait_s,
    )
