"""The link to Redis, when CHAT_REDIS_URL is set: state that every process and machine shares.

Redis may go away. Each use then falls back to this process's own state, one line is logged per
interval, and Redis is tried again a few seconds later, so that chat keeps working and the server
picks Redis up again without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TypeVar
from urllib.parse import urlsplit

import redis.asyncio as redis
from aiohttp import web
from redis.exceptions import RedisError

from chat.config.settings import SettingsError
from chat.log.lines import line

T = TypeVar("T")

RETRY_AFTER = 3.0  # seconds without asking Redis after it failed
LOG_INTERVAL = 60.0  # at most one line about an unreachable Redis per interval
TIMEOUT = 0.5  # seconds for a connection or a command: a stuck Redis must not hold a chat
MAX_CONNECTIONS = 200  # per process; each command holds one for about a round trip
DEFAULT_PORT = 6379
LIMITS_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}


class Unavailable(Exception):
    """Redis is off, or unreachable right now: use this process's own state."""


class SharedState:
    def __init__(self, url: str | None, logger: logging.Logger | None = None) -> None:
        self.url = url
        self.client: redis.Redis | None = None
        if url is not None:
            try:
                # A burst of streams waits for a connection (at most TIMEOUT) rather than failing:
                # redis-py's default pool raised at its 100th, and that was taken for Redis away.
                pool = redis.BlockingConnectionPool.from_url(
                    url,
                    max_connections=MAX_CONNECTIONS,
                    timeout=TIMEOUT,
                    socket_connect_timeout=TIMEOUT,
                    socket_timeout=TIMEOUT,
                    retry_on_timeout=False,
                    health_check_interval=30,
                )
                self.client = redis.Redis.from_pool(pool)
            except ValueError as error:
                raise configuration_error(error) from None
        self._log = logger or logging.getLogger("chat.redis")
        self._pending: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self.retry_after = RETRY_AFTER
        self._down = False
        self._down_until = 0.0
        self._checked_at = -math.inf  # when /healthz last asked Redis
        self._logged_at = -LOG_INTERVAL
        self._failures_unlogged = 0

    @property
    def enabled(self) -> bool:
        return self.client is not None

    @property
    def status(self) -> str:
        """For /healthz: off, ok, or unreachable."""
        if self.client is None:
            return "off"
        return "unreachable" if time.monotonic() < self._down_until else "ok"

    async def run(self, command: Callable[[redis.Redis], Awaitable[T]]) -> T:
        """`command` against Redis; Unavailable when it is off, resting after a failure, or fails now."""
        if self.client is None or time.monotonic() < self._down_until:
            raise Unavailable
        try:
            result = await command(self.client)
        except (RedisError, OSError) as error:
            self._failed(error)
            raise Unavailable from error
        if self._down:
            self._down = False
            self._failures_unlogged = 0
            self._logged_at = -LOG_INTERVAL
            self._log.warning(line("chat redis-back", redis=_without_password(self.url or "")))
        return result

    async def check(self) -> str:
        """For /healthz, which anyone may poll: Redis asked at most once per resting period, and never
        during the rest after a failure (each chat request would then wait on a Redis that is away)."""
        if self.client is None:
            return "off"
        now = time.monotonic()
        if now < self._down_until or now - self._checked_at < self.retry_after:
            return self.status
        self._checked_at = now
        try:
            await self.run(lambda client: client.ping())
        except Unavailable:
            return "unreachable"
        return "ok"

    def spawn(self, command: Callable[[redis.Redis], Awaitable[object]], fallback: Callable[[], None]) -> None:
        """Run `command` without waiting for it (a count added as an answer ends); `fallback` if it
        cannot be."""

        async def run() -> None:
            try:
                await self.run(command)
            except Unavailable:
                fallback()

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def background(self, work: Coroutine[object, object, None]) -> asyncio.Task[None]:
        """A task for as long as it has work (a renewal loop), cancelled by `close` if still running."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def settled(self) -> None:
        """Once every write spawned so far has reached Redis (or its fallback)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def close(self) -> None:
        await self.settled()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()

    def _failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self._down = True
        self._down_until = now + self.retry_after
        self._failures_unlogged += 1
        if now - self._logged_at >= LOG_INTERVAL:
            self._log.warning(
                line(
                    "chat redis-unreachable",
                    redis=_without_password(self.url or ""),
                    error=f"{type(error).__name__}: {error}",
                    failures=self._failures_unlogged,
                    advice="limits and usage count per process until it is back",
                )
            )
            self._logged_at = now
            self._failures_unlogged = 0


def limits_uri(url: str) -> str:
    """The same Redis as the `limits` library names it: its own schemes (`async+redis+unix://` for a
    socket), and a port always (it takes no default). It is given our connection pool: the URI only
    chooses its Redis bridge."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.scheme != "unix" and parts.port is None:
        netloc += f":{DEFAULT_PORT}"
    return f"{LIMITS_SCHEMES[parts.scheme]}://{netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def configuration_error(error: Exception) -> SettingsError:
    """A library's refusal of CHAT_REDIS_URL, as one line that quotes neither the URL nor the
    library's reason (either may hold the password)."""
    return SettingsError(f"CHAT_REDIS_URL (redis_url) is not a Redis URL the server can use ({type(error).__name__})")


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + parts.path


shared_state_key = web.AppKey("shared_state_key", SharedState)
