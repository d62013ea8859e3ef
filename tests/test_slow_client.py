"""Clients that stop reading or vanish cost a bounded buffer, then their stream and its upstream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import pytest

from chat.simulator import Fault, Simulator
from chat.state.open_streams import open_streams_key

from .sse_client import chat_body
from .typedefs import ClientFactory

BIG_TOKEN = "x" + " " * 4000  # the simulator cuts tokens after runs of spaces: 4 KB per chunk
TOKENS = 3000  # 12 MB in all: more than every buffer between server and client


@pytest.mark.parametrize("dialect", ["chat", "responses"])
async def test_client_that_stops_reading_is_dropped_and_upstream_closed(
    make_client: ClientFactory, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await make_client(write_timeout=0.3)
    simulator.script(BIG_TOKEN * TOKENS)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((client.host, client.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:  # closed however the test ends: a socket left open fails a later test in this process
        body = b'{"messages": [{"role": "user", "content": "a lot"}]}'
        writer.write(
            b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        record = await asyncio.wait_for(simulator.next_request(), 5)
        # The client reads nothing from here on.
        await asyncio.wait_for(record.ended.wait(), 10)
        assert record.hung_up
        assert not record.completed
        assert record.content_chunks_sent < TOKENS  # back-pressure reached the upstream: it was held, not drained
        await asyncio.wait_for(client.app[open_streams_key].wait_until_idle(), 5)
        assert any('outcome="client_too_slow"' in r.getMessage() for r in caplog.records if r.name == "chat.relay")
        # Dropped at once with what its buffers held, not kept open and full until the client reads:
        # the server holds no connection for it, and the client reading on meets a cut stream.
        assert client.server.runner is not None and client.server.runner.server is not None
        assert client.server.runner.server.connections == []
        tail = b""
        with contextlib.suppress(ConnectionResetError):
            async with asyncio.timeout(5):
                while chunk := await reader.read(1 << 20):
                    tail = (tail + chunk)[-16:]
        assert not tail.endswith(b"\r\n0\r\n\r\n")  # the chunked body's end, had the answer been closed
    finally:
        writer.close()


async def test_stream_sockets_detect_a_vanished_peer(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(write_timeout=7, ping_interval=0.05)
    simulator.fail_next(Fault.STALL, after_chunks=0)
    response = await client.post("/api/chat", json=chat_body())
    await asyncio.wait_for(simulator.next_request(), 5)
    # Set once the stream has been silent for a ping interval: writing, the write timeout watches.
    assert (await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)) == b": ping\n\n"
    assert client.server.runner is not None and client.server.runner.server is not None
    [transport] = [c.transport for c in client.server.runner.server.connections if c.transport is not None]
    sock = transport.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 7000
    response.close()
