"""A process that is all chat server (`chat-server`, `server.py`, gunicorn workers): how it runs, and
the process-wide tuning an embedding host would not want imposed on it."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from chat.config.settings import Settings
from chat.edge.app import create_app
from chat.edge.connections import connections_key
from chat.edge.descriptors import shortage_handled

# Connections waiting to be accepted. aiohttp's default of 128 overflows when hundreds of browsers
# connect at once, and each dropped SYN costs its client a one-second retransmission.
LISTEN_BACKLOG = 2048
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr() -> None:
    """The log of a server process (a line per answer, the warnings), under any runner."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def run_options(settings: Settings) -> dict[str, Any]:
    """How the server must run: the tests start it with these too, not only `server.py`.

    Without handler cancellation aiohttp notices a vanished client only at its next write,
    which can be seconds away while the upstream is silent, and the upstream keeps generating.
    """
    return {
        "handler_cancellation": True,
        "shutdown_timeout": settings.shutdown_timeout,
        # Idle connections (between requests, or never sending one) hold a descriptor each; aiohttp's
        # default keeps them an hour (75 s under `web.run_app`).
        "keepalive_timeout": settings.keepalive_timeout,
        "access_log": None,
    }


def create_process_app(settings: Settings) -> web.Application:
    """The app for a process that is all chat server (`server.py`, gunicorn workers), with the
    process-wide tuning an embedding host would not want imposed on it."""
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per chat is ours to write
    app = create_app(settings)
    app.cleanup_ctx.append(descriptor_shortage_context)
    quieten_garbage_collector()
    return_freed_memory()
    return app


async def descriptor_shortage_context(app: web.Application) -> AsyncIterator[None]:
    """Process-wide, so only for `create_process_app`: the event loop's handling of a shortage of
    file descriptors (chat/descriptors.py), shedding this app's idle connections."""
    with shortage_handled(asyncio.get_running_loop(), app[connections_key].shed_idle):
        yield


def return_freed_memory() -> None:
    """Process-wide, so only for `create_process_app`.

    A request at the limits (a 200,000-character conversation) needs about 2.4 MiB while it is read
    and sent upstream (its bytes, its text, the SDK's copy), all freed once its answer begins. After
    the first such block is freed, glibc serves blocks of that size from its heap (its mmap threshold
    adapts upwards), and the heap seldom shrinks: measured, 100 of them at once left 1.4 MiB of RSS
    per open stream whose live objects were 100 KiB. A fixed threshold keeps every block of 128 KiB
    or more in a mapping of its own, given back when freed.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc: its own allocator's ways apply
        return
    mallopt(M_MMAP_THRESHOLD, 128 * 1024)


def quieten_garbage_collector() -> None:
    """Process-wide, so only for `create_process_app`.

    A full collection walks every object of every open stream; with a thousand streams that is a
    pause of 100 ms or more, felt by every reader at once. A larger first threshold makes them rare
    (measured: none in a run of 1,000 streams instead of 8, up to 187 ms each), and the objects
    of start-up are frozen out of them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
