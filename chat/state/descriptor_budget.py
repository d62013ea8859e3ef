"""How many streams this process's file descriptors hold: each open stream holds two (the browser's
socket and the upstream's), so a stream is admitted only while both still fit under the open-file
limit, with a spare for everything else (listening sockets, health checks, idle connections, Redis).

Counted from our own open streams against the limit read at start, never by listing /proc per
request. Without it, the stream that found no descriptor for its upstream connection failed with
`EMFILE` inside the SDK's retry (a bare 500 and a traceback); now it is told 503 `server_busy`.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable

try:
    import resource
except ImportError:  # Windows: no limit to read
    resource = None  # type: ignore[assignment]

# What a socket or connect fails with when the process or the system has no descriptor (or buffer) left.
SHORTAGE = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
PER_STREAM = 2  # the browser's socket and the upstream's
SPARE = 64  # beyond those open at start: health checks, idle and refused connections, Redis, metrics
LOG_INTERVAL = 60.0  # seconds over which repeated shortages at the upstream connect make one line

log = logging.getLogger("chat.descriptors")


def open_file_limit() -> int:
    """The soft limit of open files; 0 where there is none to read."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0] if resource is not None else 0


def descriptors_in_use() -> int:
    """Descriptors this process has open now (Linux; 0 elsewhere). Read once, at start."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # less the one listing it
    except OSError:
        return 0


def streams_that_fit(limit: int, in_use: int, spare: int = SPARE) -> int | None:
    """Open streams whose descriptors fit under `limit` beside `in_use` and the spare; None for no limit."""
    if limit <= 0 or (resource is not None and limit == resource.RLIM_INFINITY):
        return None
    return max(0, (limit - in_use - spare) // PER_STREAM)


def fitting_streams_now() -> int | None:
    """`streams_that_fit` for this process as it is now: its soft limit, its descriptors open."""
    return streams_that_fit(open_file_limit(), descriptors_in_use())


def descriptors_needed(max_streams: int, in_use: int = 0) -> int:
    return max_streams * PER_STREAM + in_use + SPARE


class ShortageLog:
    """One log line per interval for connects to the model service that found no descriptor: the
    first of an interval is written at once, those after it are counted into the next line."""

    def __init__(self, interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._written_at: float | None = None
        self._since = 0  # shortages since the last line

    def shortage(self) -> None:
        now = self._clock()
        if self._written_at is not None and now - self._written_at < self._interval:
            self._since += 1
            return
        more = f" ({self._since} more since the last line)" if self._since else ""
        log.warning(
            "no file descriptor left to connect to the model service (open-file limit %d): chats refused with "
            "503 server_busy%s; raise the service's limit (LimitNOFILE) or lower CHAT_MAX_STREAMS",
            open_file_limit(),
            more,
        )
        self._written_at = now
        self._since = 0


upstream_shortages = ShortageLog()  # process-wide, as the open-file limit is


def descriptor_warning(max_streams: int, limit: int | None = None, in_use: int | None = None) -> str | None:
    """The start-up line when CHAT_MAX_STREAMS streams would need more descriptors than the limit
    allows; the limit and the descriptors open are this process's unless given."""
    limit = open_file_limit() if limit is None else limit
    in_use = descriptors_in_use() if in_use is None else in_use
    fitting = streams_that_fit(limit, in_use)
    if fitting is None or max_streams <= fitting:
        return None
    return (
        f"CHAT_MAX_STREAMS={max_streams:,} needs {descriptors_needed(max_streams, in_use):,} file descriptors (two a "
        f"stream, {in_use} open at start, {SPARE} spare) but the open-file limit is {limit:,}: beyond {fitting:,} open "
        "streams, chats get 503 server_busy; lower CHAT_MAX_STREAMS or raise the service's limit (LimitNOFILE)"
    )
