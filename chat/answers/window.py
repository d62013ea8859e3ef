"""The resume window: an answer nobody reads goes on for CHAT_RESUME_WINDOW seconds, waiting for a
reader, then it is closed. One timer per answer, set only while it has no reader."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ResumeWindow:
    """Counts an answer's readers here; `expired` is called once the last has been gone for `seconds`."""

    __slots__ = ("_expired", "_readers", "_timer", "grace", "seconds")

    def __init__(self, seconds: float, expired: Callable[[], None]) -> None:
        self.seconds = seconds
        self._expired = expired
        self._readers = 0
        self._timer: asyncio.TimerHandle | None = None
        # Set when the page said it is going (its `pagehide` beacon): a reload comes back within
        # it, a closed tab does not, and its answer is not paid for the whole window.
        self.grace: float | None = None

    @property
    def readers(self) -> int:
        return self._readers

    def joined(self) -> None:
        self._readers += 1
        self.grace = None
        self.cancel()

    def left(self) -> None:
        self._readers -= 1
        if not self._readers:
            self.start(self.seconds if self.grace is None else self.grace)

    def leaving(self, grace: float) -> None:
        """The reader's page is going away: `grace` instead of the window, from now or once it has left."""
        self.grace = min(grace, self.seconds)
        if not self._readers:
            self.start(self.grace)

    def start(self, seconds: float) -> None:
        """(Again) `seconds` from now, unless a reader joins meanwhile."""
        self.cancel()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._fire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if not self._readers:
            self._expired()
