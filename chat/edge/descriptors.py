"""File descriptors: as many as the system allows, and a server that stays up when they run out.

Every connection holds a descriptor. Under the common service limit of 1,024, about a thousand
idle sockets used them all up: `accept()` failed, and asyncio (before python/cpython#151615) went
on calling it up to `backlog` times per wake-up, logging a traceback and scheduling another retry
each time. Measured: 80,000 tracebacks (35 MB) in a few seconds, and the health check timed out
for as long as the sockets were held. Here the first failure of a wake-up ends it (see
chat/internals/private_api.py), asyncio's pause of one second before accepting again holds, idle
connections are closed to free descriptors, and the log gets one line per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from chat.internals.private_api import accept_stops_at_shortage
from chat.state.descriptor_budget import SHORTAGE, open_file_limit

try:
    import resource
except ImportError:  # Windows: no limit to raise
    resource = None  # type: ignore[assignment]

log = logging.getLogger("chat.descriptors")

LOG_INTERVAL = 60.0  # seconds over which repeated shortages make one line


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit of open files to the hard one; (before, after).

    Services often start with a soft limit of 1,024 under a much higher hard one, and a process
    may raise its own soft limit up to the hard limit.
    """
    if resource is None:
        return (0, 0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        return (soft, soft)  # macOS reports an infinite hard limit that setrlimit refuses
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return (soft, soft)
    return (soft, hard)


class DescriptorShortage:
    """The event loop's exception handler for `accept()` finding no descriptor: sheds idle
    connections and logs once per interval; anything else goes to the handler it replaced."""

    def __init__(
        self, shed_idle: Callable[[], int], previous: Callable[..., object] | None, interval: float = LOG_INTERVAL
    ) -> None:
        self._shed_idle = shed_idle
        self._previous = previous
        self._interval = interval
        self._counting = False  # within an interval that has been logged
        self._repeated = 0
        self._shed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if not (isinstance(error, OSError) and error.errno in SHORTAGE and "socket" in context):
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        shed = self._shed_idle()
        if self._counting:
            self._repeated += 1
            self._shed += shed
            return
        log.warning(
            "out of file descriptors (open-file limit %d): closed %d idle connections, accepting again in a "
            "second; raise the service's limit (LimitNOFILE) if this recurs",
            open_file_limit(),
            shed,
        )
        self._start_interval(loop)

    def _start_interval(self, loop: asyncio.AbstractEventLoop) -> None:
        self._counting = True
        self._repeated = self._shed = 0
        loop.call_later(self._interval, self._end_interval, loop)

    def _end_interval(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._repeated:
            self._counting = False  # the next shortage is news again
            return
        log.warning(
            "out of file descriptors %d more times in %.0f s: closed %d idle connections",
            self._repeated,
            self._interval,
            self._shed,
        )
        self._start_interval(loop)


@contextlib.contextmanager
def shortage_handled(loop: asyncio.AbstractEventLoop, shed_idle: Callable[[], int]) -> Iterator[None]:
    """While inside: a shortage of descriptors on `loop` is handled as `DescriptorShortage` says."""
    previous = loop.get_exception_handler()
    loop.set_exception_handler(DescriptorShortage(shed_idle, previous))
    try:
        with accept_stops_at_shortage(loop, SHORTAGE):
            yield
    finally:
        loop.set_exception_handler(previous)
