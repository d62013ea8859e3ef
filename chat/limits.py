"""The open streams: how many one client, and everyone together, may hold at once and start per
minute, and the handler tasks behind them, so that shutdown can end each one politely."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import Iterator

from .errors import ChatError
from .settings import Settings

WINDOW = 60.0  # seconds of the per-client request count


class OpenStreams:
    """One registry of the streams being answered, counted per client and in all."""

    def __init__(self, settings: Settings) -> None:
        self._max_streams = settings.max_streams
        self._max_per_client = settings.max_streams_per_client
        self._per_minute = settings.requests_per_minute
        self._per_client: collections.Counter[str] = collections.Counter()
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._recent: dict[str, collections.deque[float]] = {}
        self._next_sweep = 0.0
        self.closing = False

    def __len__(self) -> int:
        return len(self._tasks)

    @contextlib.contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Hold one of the client's stream places for the calling task; 429 when none is free."""
        self._count_request(client)
        if self._per_client[client] >= self._max_per_client:
            raise ChatError(
                429,
                "too_many_streams",
                f"You already have {self._per_client[client]} answers streaming. Wait for one to finish or stop it.",
                retry_after=1,
            )
        if len(self._tasks) >= self._max_streams:
            raise ChatError(
                429,
                "server_busy",
                "The server is answering as many chats as it can. Try again in a few seconds.",
                retry_after=5,
            )
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._per_client[client] += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._tasks.discard(task)
            self._per_client[client] -= 1
            if not self._per_client[client]:
                del self._per_client[client]
            if not self._tasks:
                self._idle.set()

    async def wait_until_idle(self) -> None:
        await self._idle.wait()

    def close_all(self) -> None:
        """Interrupt every open stream; each tells its client `server_shutdown` and returns."""
        self.closing = True
        for task in self._tasks:
            task.cancel()

    def _count_request(self, client: str) -> None:
        if not self._per_minute:
            return
        now = time.monotonic()
        self._sweep(now)
        recent = self._recent.setdefault(client, collections.deque())
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) >= self._per_minute:
            retry_after = max(1, math.ceil(recent[0] + WINDOW - now))
            raise ChatError(
                429,
                "rate_limited",
                f"You have sent {self._per_minute} messages in the last minute. Try again in {retry_after} seconds.",
                retry_after=retry_after,
            )
        recent.append(now)

    def _sweep(self, now: float) -> None:
        """Forget clients that sent nothing for a whole window, so the table cannot grow without end."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + WINDOW
        for client in [c for c, recent in self._recent.items() if not recent or recent[-1] <= now - WINDOW]:
            del self._recent[client]
