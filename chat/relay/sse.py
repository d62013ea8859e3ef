"""Server-Sent Events to the browser: framing our own events, pings while the model is silent, and a
client that reads nothing for too long dropped."""

from __future__ import annotations

import asyncio
import socket
import time
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


class SseResponse:
    """An open event stream to one browser, with keep-alive pings while nothing else is sent."""

    def __init__(
        self, request: web.Request, response: web.StreamResponse, ping_interval: float, write_timeout: float
    ) -> None:
        self.response = response
        self._transport = request.transport
        # Below the low-water mark the transport is not paused and this write cannot pause it.
        self._low_water = self._transport.get_write_buffer_limits()[0] if self._transport else 0
        self._ping_interval = ping_interval
        self._write_timeout = write_timeout
        self._last_write = time.monotonic()
        self._pinger: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, request: web.Request, ping_interval: float, write_timeout: float) -> SseResponse:
        response = web.StreamResponse(headers=SSE_HEADERS)
        # An event stream must never be compressed: a compressor holds bytes back until the end.
        await response.prepare(request)
        stream = cls(request, response, ping_interval, write_timeout)
        stream._detect_vanished_peer()
        stream._pinger = asyncio.create_task(stream._ping_while_idle())
        return stream

    async def send(self, data: bytes) -> None:
        """Write one frame; waits while the client is slow, at most the write timeout.

        The wait is the back-pressure: nothing more is read from the upstream meanwhile, so a
        client that stops reading costs a bounded buffer, then its stream.
        """
        self._last_write = time.monotonic()
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

    def _detect_vanished_peer(self) -> None:
        """Keepalive probes and a user timeout end a connection whose peer vanished without a FIN."""
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
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None
        try:
            await self.response.write_eof()
        except ConnectionError:
            pass

    async def _ping_while_idle(self) -> None:
        while True:
            delay = self._last_write + self._ping_interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            try:
                # Shielded: cancelling a task parked in drain would cancel the drain future
                # that the relay's own write may be waiting on too.
                await asyncio.shield(self.send(PING_FRAME))
            except ConnectionError:
                return
