"""Server-Sent Events to the browser: framing our own events, pings while the model is silent, and a
client that reads nothing for too long dropped."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

PING_FRAME = b": ping\n\n"
KEEPALIVE_IDLE = 30  # seconds of silence before the first probe
KEEPALIVE_INTERVAL = 10
KEEPALIVE_COUNT = 3

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def frame(event: str, data: Any) -> bytes:
    """One named event carrying one JSON object on one `data:` line."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class ClientTooSlow(ConnectionError):
    """The client read nothing for the write timeout; its connection has been dropped."""


class PingTicker:
    """One timer for the pings of every open stream of an app: each tick, a stream silent for the
    ping interval gets a ping. A task and a timer per stream, sleeping between pings, cost 2 KiB of
    every open stream; a model that thinks for minutes keeps thousands of streams open and silent."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._streams: set[SseResponse] = set()

    def add(self, stream: SseResponse) -> None:
        self._streams.add(stream)

    def discard(self, stream: SseResponse) -> None:
        self._streams.discard(stream)

    async def run(self) -> None:
        # A ping goes out between one and one and a quarter intervals after the last write.
        period = max(self.interval / 4, 0.005)
        while True:
            await asyncio.sleep(period)
            due = time.monotonic() - self.interval
            for stream in [s for s in self._streams if s.last_write <= due]:
                stream.ping()


ping_ticker_key = web.AppKey("ping_ticker_key", PingTicker)


async def ping_ticker_context(app: web.Application) -> AsyncIterator[None]:
    """The app's ticker runs while the app does (a cleanup context)."""
    task = asyncio.create_task(app[ping_ticker_key].run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class SseResponse:
    """An open event stream to one browser, with keep-alive pings while nothing else is sent."""

    def __init__(
        self, request: web.Request, response: web.StreamResponse, pings: PingTicker, write_timeout: float
    ) -> None:
        self.response = response
        self._transport = request.transport
        # Below the low-water mark the transport is not paused and this write cannot pause it.
        self._low_water = self._transport.get_write_buffer_limits()[0] if self._transport else 0
        self._pings = pings
        self._write_timeout = write_timeout
        self.last_write = time.monotonic()
        self._ping: asyncio.Task[None] | None = None
        self._probing = False  # keepalive probes set on the socket
        self._closed = False

    @classmethod
    async def start(
        cls, request: web.Request, pings: PingTicker, write_timeout: float, headers: dict[str, str] | None = None
    ) -> SseResponse:
        response = web.StreamResponse(headers=SSE_HEADERS if headers is None else {**SSE_HEADERS, **headers})
        # An event stream must never be compressed: a compressor holds bytes back until the end.
        await response.prepare(request)
        # Sent: nothing reads them again, and with the security headers they were 2.5 KiB of every
        # open stream.
        response.headers.clear()
        stream = cls(request, response, pings, write_timeout)
        pings.add(stream)
        return stream

    async def send(self, data: bytes) -> None:
        """Write one frame; waits while the client is slow, at most the write timeout.

        The wait is the back-pressure: nothing more is read from the upstream meanwhile, so a
        client that stops reading costs a bounded buffer, then its stream.
        """
        self.last_write = time.monotonic()
        transport = self._transport
        if transport is not None and transport.get_write_buffer_size() + len(data) <= self._low_water:
            await self.response.write(data)  # cannot wait, so no timer is needed
            return
        try:
            async with asyncio.timeout(self._write_timeout):
                await self.response.write(data)
        except TimeoutError:
            if transport is not None:
                transport.abort()
            raise ClientTooSlow from None

    async def send_unless_gone(self, data: bytes) -> None:
        """A last frame (an error, a shutdown notice) for a client that may already have left."""
        try:
            await self.send(data)
        except ConnectionError:
            pass

    def ping(self) -> None:
        """A ping, in a task of its own while it is written: the ticker never waits on a client.
        Never cancelled: a ping parked in drain shares the drain future with the relay's own write."""
        if self._ping is None and not self._closed:
            if not self._probing:
                self._detect_vanished_peer()  # once silent: five system calls most answers never need
            self.last_write = time.monotonic()
            self._ping = asyncio.create_task(self._send_ping())

    async def _send_ping(self) -> None:
        try:
            if not self._closed:  # no wait since the check: the frame goes out before any end
                await self.send(PING_FRAME)
        except ConnectionError:
            self._pings.discard(self)
        finally:
            self._ping = None

    def _detect_vanished_peer(self) -> None:
        """Keepalive probes and a user timeout end a connection whose peer vanished without a FIN
        (while the stream writes, the write timeout does)."""
        self._probing = True
        sock = self._transport.get_extra_info("socket") if self._transport else None
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
        for name, value in (
            ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
            ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
            ("TCP_KEEPCNT", KEEPALIVE_COUNT),
            ("TCP_USER_TIMEOUT", int(self._write_timeout * 1000)),
        ):
            if hasattr(socket, name):  # Linux; elsewhere the system defaults stay
                options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
        for level, option, value in options:
            try:
                sock.setsockopt(level, option, value)
            except OSError:
                pass

    async def close(self) -> None:
        """Stop pinging and end the response; quiet if the client has already gone."""
        self._closed = True
        self._pings.discard(self)
        try:
            await self.response.write_eof()
        except ConnectionError:
            pass
