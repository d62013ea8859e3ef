"""Daily token quotas per client (CHAT_TOKENS_PER_DAY): checked before each upstream request, never
in the middle of an answer, and counted from each answer's usage (reported, else estimated).

A quota day ends at midnight UTC, or at the time of day CHAT_QUOTA_RESET names. With Redis the
count is shared by every process; while Redis is unreachable each process counts its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import math
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from aiohttp import web

from chat.accounting.outcome import Outcome
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.shared_state import SharedState, Unavailable

MAX_CLIENTS = 100_000  # counted in this process at once; beyond, newcomers share one count (and its quota)
OTHER = "other"


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaState:
    limit: int
    used: int
    resets_at: datetime.datetime

    @property
    def exceeded(self) -> bool:
        return self.used >= self.limit

    def as_dict(self) -> dict[str, object]:
        return {"limit": self.limit, "used": self.used, "resets_at": self.resets_at.isoformat()}


class DailyQuota:
    """An `OutcomeObserver` that counts tokens per client and quota day, and the check before a request."""

    def __init__(
        self, settings: Settings, shared: SharedState | None = None, *, max_clients: int = MAX_CLIENTS
    ) -> None:
        self._default = settings.tokens_per_day
        self._overrides = settings.token_quota_overrides
        self._reset = settings.quota_reset
        self._shared = shared or SharedState(None)
        self._local: dict[tuple[datetime.date, str], int] = {}
        self._max_clients = max_clients

    @property
    def enabled(self) -> bool:
        return bool(self._default or self._overrides)

    def limit_for(self, client: str) -> int | None:
        return self._overrides.get(client, self._default or None)

    def period(self, now: datetime.datetime | None = None) -> tuple[datetime.date, datetime.datetime]:
        """The quota day `now` falls in, and when it ends."""
        now = now or datetime.datetime.now(datetime.UTC)
        start = now.replace(hour=self._reset.hour, minute=self._reset.minute, second=0, microsecond=0)
        if start > now:
            start -= datetime.timedelta(days=1)
        return start.date(), start + datetime.timedelta(days=1)

    async def state(self, client: str) -> QuotaState | None:
        limit = self.limit_for(client)
        if limit is None:
            return None
        day, resets_at = self.period()
        return QuotaState(limit, await self._used(day, client), resets_at)

    async def check(self, client: str) -> None:
        """429 `quota_exceeded` until the quota resets, for a client at or over its quota."""
        state = await self.state(client)
        if state is None or not state.exceeded:
            return
        wait = state.resets_at - datetime.datetime.now(datetime.UTC)
        seconds = max(1, math.ceil(wait.total_seconds()))
        raise ChatError(
            catalogue.QUOTA_EXCEEDED,
            limit=state.limit,
            resets_at=state.resets_at,
            wait=_duration(seconds),
            retry_after=seconds,
        )

    def finished(self, outcome: Outcome) -> None:
        tokens = outcome.tokens()
        if tokens is None or self.limit_for(outcome.client) is None:
            return
        day, resets_at = self.period()
        self._add(day, outcome.client, tokens.total, resets_at)

    async def _used(self, day: datetime.date, client: str) -> int:
        local = self._local.get(self._local_key(day, client), 0)
        with contextlib.suppress(Unavailable):
            shared = await self._shared.run(lambda r: r.get(_key(day, client)))
            return int(shared or 0) + local
        return local

    def _add(self, day: datetime.date, client: str, tokens: int, resets_at: datetime.datetime) -> None:
        if self._shared.enabled and self._shared.status == "ok":
            self._shared.spawn(_increment(day, client, tokens, resets_at), lambda: self._add_here(day, client, tokens))
            return
        self._add_here(day, client, tokens)

    def _add_here(self, day: datetime.date, client: str, tokens: int) -> None:
        for old in [key for key in self._local if key[0] < day]:
            del self._local[old]
        key = self._local_key(day, client)
        self._local[key] = self._local.get(key, 0) + tokens

    def _local_key(self, day: datetime.date, client: str) -> tuple[datetime.date, str]:
        """The client's count; in a full table a newcomer's is the one all newcomers share, both
        when counted and when checked, so that a flood of clients cannot spend freely."""
        key = (day, client)
        return (day, OTHER) if key not in self._local and len(self._local) >= self._max_clients else key


def _increment(
    day: datetime.date, client: str, tokens: int, resets_at: datetime.datetime
) -> Callable[[redis.Redis], Awaitable[None]]:
    async def command(r: redis.Redis) -> None:
        async with r.pipeline(transaction=False) as pipe:
            pipe.incrby(_key(day, client), tokens)
            pipe.expireat(_key(day, client), resets_at + datetime.timedelta(days=1))
            await pipe.execute()

    return command


def _key(day: datetime.date, client: str) -> str:
    return f"chat:quota:{day.isoformat()}:{client}"


def _duration(seconds: int) -> str:
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


quota_key = web.AppKey("quota_key", DailyQuota)
