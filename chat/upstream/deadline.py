"""The first-token and stall deadlines of one upstream stream, on one timer for the whole stream.

`asyncio.timeout` around each read schedules and cancels a timer per chunk: about a tenth of the
event loop's time at 200 streams. Here a read only notes when it began waiting; the one timer,
when it fires, either finds the current wait over its limit (and cancels the reader, as
`asyncio.timeout` does) or sleeps again until the current wait's own deadline.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class ReadDeadline:
    """`with ReadDeadline(limit) as deadline:` around the reads, `begin()` and `end()` around each
    one. A wait longer than `limit` cancels the reading task; its handler of CancelledError asks
    `expired()` whether that was this deadline. `limit` may change between reads."""

    __slots__ = ("_cancelling", "_expired", "_handle", "_loop", "_since", "_task", "_waiting", "limit")

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._since = 0.0  # when the current wait began
        self._waiting = False
        self._expired = False
        self._cancelling = 0

    def __enter__(self) -> ReadDeadline:
        self._task = asyncio.current_task()
        self._since = self._loop.time()
        self._handle = self._loop.call_at(self._since + self.limit, self._check)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def shorten(self, limit: float) -> None:
        """From the next read on, a shorter limit (the answer has begun: a long silence now is a
        stall); the timer, set for the longer one, is moved once."""
        if limit >= self.limit:
            return
        self.limit = limit
        if self._handle is not None:
            self._handle.cancel()
            self._handle = self._loop.call_at(self._loop.time() + limit, self._check)

    def begin(self) -> None:
        """A read starts waiting: one clock reading, no timer."""
        self._since = self._loop.time()
        self._waiting = True

    def end(self) -> None:
        """The read is over."""
        self._waiting = False

    def expired(self) -> bool:
        """Whether this deadline cancelled the read (then the cancellation is taken back, as
        `asyncio.timeout` does, unless someone else cancelled the task too)."""
        self._waiting = False
        if not self._expired:
            return False
        self._expired = False
        assert self._task is not None
        return self._task.uncancel() <= self._cancelling

    def _check(self) -> None:
        due = self._since + self.limit
        now = self._loop.time()
        if self._waiting and now >= due:
            self._handle = None
            self._expired = True
            assert self._task is not None
            self._cancelling = self._task.cancelling()
            self._task.cancel()
            return
        # Between reads (the relay is writing to its client) the clock does not run.
        self._handle = self._loop.call_at(due if self._waiting else now + self.limit, self._check)
