"""Daily token quotas per client (CHAT_TOKENS_PER_DAY): checked before each upstream request, never
in the middle of an answer, and counted from each answer's usage (reported, else estimated).

Each request reserves what it may cost (its prompt's estimate and its token ceiling) as it is
admitted, checked and taken in one step (a Lua script with Redis), so that parallel requests cannot
all pass the check before any of them is counted; as it ends, the reservation gives way to what the
answer came to. A request is admitted while the client's quota is not spent and its reservation
fits beside the others in progress, or, with none in progress, alone.

A quota day ends at midnight UTC, or at the time of day CHAT_QUOTA_RESET names. With Redis the
count is shared by every process; while Redis is unreachable each process counts its own on top
of the last count it read from Redis (never less: a Redis that lost its data, or a stale replica,
does not give a client its quota back).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import itertools
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from aiohttp import web

from chat.accounting.outcome import Outcome
from chat.accounting.quota_records import (
    RENEW,
    RESERVE,
    QuotaState,
    Reservation,
    count_key,
    over_quota,
    refusal,
    reserved_key,
)
from chat.config.settings import Settings
from chat.state.shared_state import SharedState, Unavailable

MAX_CLIENTS = 100_000  # counted in this process at once; beyond, newcomers share one count (and its quota)
OTHER = "other"


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
        # The last count read from Redis per client and day: while Redis is away, or if it comes back
        # with less, the larger is used.
        self._seen: dict[tuple[datetime.date, str], int] = {}
        # Reservations held in this process (no Redis, or Redis away when they were taken).
        self._reserved: collections.Counter[tuple[datetime.date, str]] = collections.Counter()
        self._reservations: collections.Counter[tuple[datetime.date, str]] = collections.Counter()
        self._ids = (f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())
        # Reservations in Redis live as long as stream leases, renewed alike while their answers do,
        # so that those of a process that died lapse with its places.
        self._ttl_ms = round(settings.stream_lease_seconds * 1000)
        self._held: dict[str, Reservation] = {}  # in Redis, by member
        self._renewing: asyncio.Task[None] | None = None

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
        key = (day, client)
        used = self._seen.get(key, 0)
        reserved = self._reserved[key]
        with contextlib.suppress(Unavailable):
            stored, in_redis = await self._shared.run(lambda r: _read(r, day, client))
            used = self._see(key, stored)
            reserved += in_redis
        return QuotaState(limit, used + self._here(day, client), resets_at, reserved)

    async def reserve(self, client: str, tokens: int) -> Reservation | None:
        """Hold `tokens` of the client's quota for a request about to be made (None: no quota); 429
        `quota_exceeded` for a client whose quota is spent, or would be by the answers in progress."""
        limit = self.limit_for(client)
        if limit is None:
            return None
        day, resets_at = self.period()
        key = (day, client)
        lease = next(self._ids)
        here = self._here(day, client)
        try:
            refused, stored, _ = await self._shared.run(
                lambda r: r.eval(
                    RESERVE,
                    2,
                    count_key(day, client),
                    reserved_key(day, client),
                    lease,
                    tokens,
                    limit,
                    self._ttl_ms,
                    self._seen.get(key, 0),
                    here,
                    self._reserved[key],
                )
            )
        except Unavailable:
            used, others = self._seen.get(key, 0) + here, self._reserved[key]
            if over_quota(used, others, tokens, limit):
                raise refusal(limit, used, resets_at) from None
            self._reserved[key] += tokens
            self._reservations[key] += 1
            return Reservation(day, client, tokens, None)
        used = self._see(key, int(stored)) + here
        if refused:
            raise refusal(limit, used, resets_at)
        member = f"{lease}:{tokens}"
        reservation = self._held[member] = Reservation(day, client, tokens, member)
        if self._renewing is None:
            self._renewing = self._shared.background(self._renew())
        return reservation

    async def _renew(self) -> None:
        """Extend this process's reservations in Redis while any is held (then stop until the next)."""
        try:
            while self._held:
                await asyncio.sleep(self._ttl_ms / 3000)
                by_key: dict[tuple[datetime.date, str], list[str]] = collections.defaultdict(list)
                for member, held in list(self._held.items()):
                    by_key[held.day, held.client].append(member)
                for (day, client), members in by_key.items():
                    with contextlib.suppress(Unavailable):
                        await self._shared.run(self._renewal(day, client, members))
        finally:
            self._renewing = None

    def _renewal(
        self, day: datetime.date, client: str, members: list[str]
    ) -> Callable[[redis.Redis], Awaitable[object]]:
        async def renew(r: redis.Redis) -> object:
            return await r.eval(RENEW, 1, reserved_key(day, client), self._ttl_ms, *members)

        return renew

    async def settle(self, outcome: Outcome) -> None:
        """An answer that has ended with its usage, before its client is told: the cost is counted
        and the reservation given back by then, so that the client's next request sees both."""
        reservation = outcome.reservation
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        self._forget(reservation)
        tokens = outcome.tokens()
        cost = tokens.total if tokens is not None else 0
        day, resets_at = self.period()
        if not (self._shared.enabled and self._shared.status == "ok"):
            self._add_here(day, outcome.client, cost)  # a reservation in Redis lapses in its own time
            return
        command = self._settle(day, outcome.client, cost, resets_at, reservation)
        try:  # finished even if the client leaves meanwhile: it must be counted once
            await asyncio.shield(self._shared.run(command))
        except Unavailable:
            self._add_here(day, outcome.client, cost)

    def finished(self, outcome: Outcome) -> None:
        """The request has ended: its reservation gives way to what it cost (unless `settle` did)."""
        reservation = outcome.reservation
        if reservation is not None and reservation.settled:
            return
        if reservation is not None:
            self._forget(reservation)
        tokens = outcome.tokens()
        if self.limit_for(outcome.client) is None:
            return
        day, resets_at = self.period()
        member = reservation.member if reservation is not None else None
        cost = tokens.total if tokens is not None else 0
        if cost or member is not None:
            self._add(day, outcome.client, cost, resets_at, reservation if member is not None else None)

    def _see(self, key: tuple[datetime.date, str], stored: int) -> int:
        """The larger of what Redis says now and what it said before, kept for when it is away."""
        seen = max(stored, self._seen.get(key, 0))
        if key not in self._seen and len(self._seen) >= self._max_clients:
            for old in [old for old in self._seen if old[0] < key[0]]:
                del self._seen[old]
        if key in self._seen or len(self._seen) < self._max_clients:  # else Redis alone knows it
            self._seen[key] = seen
        return seen

    def _here(self, day: datetime.date, client: str) -> int:
        return self._local.get(self._local_key(day, client), 0)

    def _forget(self, reservation: Reservation) -> None:
        """No longer held by this process: renewed no more in Redis, given back here."""
        if reservation.member is not None:
            self._held.pop(reservation.member, None)
            return
        key = (reservation.day, reservation.client)
        self._reserved[key] -= reservation.tokens
        self._reservations[key] -= 1
        if self._reservations[key] <= 0:
            del self._reserved[key], self._reservations[key]

    def _add(
        self,
        day: datetime.date,
        client: str,
        tokens: int,
        resets_at: datetime.datetime,
        reservation: Reservation | None = None,
    ) -> None:
        if self._shared.enabled and self._shared.status == "ok":
            self._shared.spawn(
                self._settle(day, client, tokens, resets_at, reservation), lambda: self._add_here(day, client, tokens)
            )
            return
        self._add_here(day, client, tokens)  # a reservation in Redis lapses in its own time

    def _settle(
        self,
        day: datetime.date,
        client: str,
        tokens: int,
        resets_at: datetime.datetime,
        reservation: Reservation | None,
    ) -> Callable[[redis.Redis], Awaitable[None]]:
        """The answer's cost added and its reservation given back, in one transaction."""

        async def command(r: redis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.incrby(count_key(day, client), tokens)
                pipe.expireat(count_key(day, client), resets_at + datetime.timedelta(days=1))
                if reservation is not None and reservation.member is not None:
                    pipe.zrem(reserved_key(reservation.day, client), reservation.member)
                stored = (await pipe.execute())[0]
            self._see((day, client), int(stored))

        return command

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


async def _read(r: redis.Redis, day: datetime.date, client: str) -> tuple[int, int]:
    """The day's count in Redis, and the tokens its reservations hold."""
    async with r.pipeline(transaction=False) as pipe:
        pipe.get(count_key(day, client))
        pipe.zrangebyscore(reserved_key(day, client), "(" + str(round(time.time() * 1000)), "+inf")
        stored, members = await pipe.execute()
    return int(stored or 0), sum(int(member.rpartition(b":")[2]) for member in members)


quota_key = web.AppKey("quota_key", DailyQuota)
