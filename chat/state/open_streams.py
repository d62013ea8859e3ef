"""The open streams: how many one client, and everyone together, may hold at once and start per
minute, and the handler tasks behind them, so that shutdown can end each one politely.

With CHAT_REDIS_URL the counts are shared by every process: each open stream holds a lease in
Redis that this process renews while the stream lives, so a process that dies frees its places
within the lease time. Without Redis, or while it is unreachable, each process counts its own.
Other kinds of places per client (the readers of resumable answers) hold the same leases under
keys of their own (`shared_place`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as redis
from aiohttp import web
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError

from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.descriptor_budget import fitting_streams_now
from chat.state.shared_state import SharedState, Unavailable, configuration_error, limits_uri

KEY_PREFIX = "chat"
STREAMS = "streams"  # the kind of place an open stream holds
UNBOUNDED = 2**53  # "everyone's" limit of a kind of place counted per client only
READ_NOW = -1  # the streams that fit, read from the process's limit and descriptors as it starts

# Atomically: forget expired leases, then take one if the client and everyone are below their limits.
# KEYS: the client's leases, everyone's leases. ARGV: lease, ttl in ms, max per client, max in all.
# Returns {0, 0} when taken, {1, held} when the client is at its limit, {2, held} when everyone is.
ACQUIRE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local mine = redis.call('ZCARD', KEYS[1])
if mine >= tonumber(ARGV[3]) then return {1, mine} end
local all = redis.call('ZCARD', KEYS[2])
if all >= tonumber(ARGV[4]) then return {2, all} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
return {0, 0}
"""

# KEYS: the client's leases, everyone's leases. ARGV: ttl in ms, then the leases to extend.
RENEW = """
local time = redis.call('TIME')
local expiry = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
  redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1]) * 2)
return 0
"""


class OpenStreams:
    """One registry of the streams being answered, counted per client and in all."""

    def __init__(
        self, settings: Settings, shared: SharedState | None = None, *, fitting: int | None = READ_NOW
    ) -> None:
        """`fitting`: how many open streams this process's descriptors hold (None: no limit); by
        default as its open-file limit and the descriptors open now say."""
        self._max_streams = settings.max_streams
        # Per process even with Redis: the descriptors are this process's own.
        self._fitting = fitting_streams_now() if fitting == READ_NOW else fitting
        self._max_per_client = settings.max_streams_per_client
        self._lease_ttl_ms = round(settings.stream_lease_seconds * 1000)
        self._shared = shared or SharedState(None)
        self._per_client: collections.Counter[str] = collections.Counter()
        self._leases: dict[str, tuple[str, str]] = {}  # lease held in Redis -> its client and kind of place
        self._lease_ids = (f"{os.getpid()}-{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._rate = RateLimitItemPerMinute(settings.requests_per_minute) if settings.requests_per_minute else None
        self._local_window = MovingWindowRateLimiter(MemoryStorage())
        self._shared_window: MovingWindowRateLimiter | None = None
        if self._shared.client is not None:
            try:
                storage = RedisStorage(
                    limits_uri(self._shared.url or ""),
                    implementation="redispy",
                    # limits' Redis bridge takes an existing pool (its typing lists only scalar options).
                    connection_pool=self._shared.client.connection_pool,  # type: ignore[arg-type]
                    key_prefix=f"{KEY_PREFIX}:rate",
                )
            except (ConfigurationError, ValueError) as error:
                raise configuration_error(error) from None
            self._shared_window = MovingWindowRateLimiter(storage)
        self.closing = False
        # Told the number of open streams as it changes: the metrics' gauge, when they are on.
        self.on_count: Callable[[int], None] | None = None

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.asynccontextmanager
    async def admit(self, client: str) -> AsyncIterator[None]:
        """Hold one of the client's stream places for the calling task; 429 when none is free."""
        await self._count_request(client)
        if self._fitting is not None and len(self._tasks) >= self._fitting:
            raise _out_of_descriptors()
        lease = await self._take_place(client)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        if self.on_count is not None:
            self.on_count(len(self._tasks))
        try:
            yield
        finally:
            try:
                await self._give_back(client, lease)
            finally:
                self._tasks.discard(task)
                if self.on_count is not None:
                    self.on_count(len(self._tasks))
                if not self._tasks:
                    self._idle.set()

    @contextlib.asynccontextmanager
    async def shared_place(self, kind: str, client: str, refused: Callable[[int], ChatError]) -> AsyncIterator[bool]:
        """One of the client's places of another `kind` than streams (the readers of its answers),
        leased in Redis as the streams are, so every process counts them: `refused(held)` is raised
        when the client holds CHAT_MAX_STREAMS_PER_CLIENT. Yields False without Redis, or while it is
        unreachable: the caller counts the place in its own process."""
        lease = next(self._lease_ids)
        try:
            verdict, held = await self._shared.run(
                lambda r: r.eval(
                    ACQUIRE, 2, *_keys(client, kind), lease, self._lease_ttl_ms, self._max_per_client, UNBOUNDED
                )
            )
        except Unavailable:
            verdict = held = None
        if verdict is None:
            yield False
            return
        if verdict != 0:
            raise refused(held)
        self._leases[lease] = (client, kind)
        try:
            yield True
        finally:
            await self._give_back(client, lease, kind)

    async def wait_until_idle(self) -> None:
        await self._idle.wait()

    def close_all(self) -> None:
        """Interrupt every open stream; each tells its client `server_shutdown` and returns."""
        self.closing = True
        for task in self._tasks:
            task.cancel()

    async def renew_leases(self) -> None:
        """Keep this process's leases alive while their streams are (run for the app's lifetime)."""
        while True:
            await asyncio.sleep(self._lease_ttl_ms / 3000)
            by_client: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
            for lease, place in list(self._leases.items()):
                by_client[place].append(lease)
            for (client, kind), leases in by_client.items():
                with contextlib.suppress(Unavailable):
                    await self._shared.run(self._renewal(client, leases, kind))

    def _renewal(self, client: str, leases: list[str], kind: str) -> Callable[[redis.Redis], Awaitable[object]]:
        async def renew(r: redis.Redis) -> object:
            return await r.eval(RENEW, 2, *_keys(client, kind), self._lease_ttl_ms, *leases)

        return renew

    async def _take_place(self, client: str) -> str | None:
        """A lease in Redis, or None for a place counted in this process."""
        lease = next(self._lease_ids)
        try:
            verdict, held = await self._shared.run(
                lambda r: r.eval(
                    ACQUIRE, 2, *_keys(client), lease, self._lease_ttl_ms, self._max_per_client, self._max_streams
                )
            )
        except Unavailable:
            self._check_local(client)
            self._per_client[client] += 1
            return None
        if verdict == 1:
            raise _too_many_streams(held)
        if verdict == 2:
            raise _server_busy()
        self._leases[lease] = (client, STREAMS)
        return lease

    def _check_local(self, client: str) -> None:
        if self._per_client[client] >= self._max_per_client:
            raise _too_many_streams(self._per_client[client])
        if len(self._tasks) >= self._max_streams:
            raise _server_busy()

    async def _give_back(self, client: str, lease: str | None, kind: str = STREAMS) -> None:
        if lease is None:
            self._per_client[client] -= 1
            if not self._per_client[client]:
                del self._per_client[client]
            return
        del self._leases[lease]
        with contextlib.suppress(Unavailable):  # else it expires with its lease time
            await asyncio.shield(self._shared.run(lambda r: _release(r, client, lease, kind)))

    async def _count_request(self, client: str) -> None:
        if self._rate is None:
            return
        rate = self._rate
        window = self._local_window
        if self._shared_window is not None:
            shared = self._shared_window
            try:
                allowed = await self._shared.run(lambda _: shared.hit(rate, client))
                window = shared
            except Unavailable:
                allowed = await window.hit(rate, client)
        else:
            allowed = await window.hit(rate, client)
        if allowed:
            return
        stats = await window.get_window_stats(rate, client)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ChatError(catalogue.RATE_LIMITED, amount=rate.amount, retry_after=retry_after)


def _keys(client: str, kind: str = STREAMS) -> tuple[str, str]:
    return f"{KEY_PREFIX}:{kind}:{client}", f"{KEY_PREFIX}:{kind}"


async def _release(client: redis.Redis, owner: str, lease: str, kind: str) -> None:
    async with client.pipeline(transaction=False) as pipe:
        for key in _keys(owner, kind):
            pipe.zrem(key, lease)
        await pipe.execute()


def _too_many_streams(held: int) -> ChatError:
    return ChatError(catalogue.TOO_MANY_STREAMS, held=held, retry_after=1)


def _server_busy() -> ChatError:
    return ChatError(catalogue.SERVER_BUSY, retry_after=5)


def _out_of_descriptors() -> ChatError:
    return ChatError(catalogue.SERVER_OUT_OF_DESCRIPTORS, retry_after=5)


open_streams_key = web.AppKey("open_streams_key", OpenStreams)
