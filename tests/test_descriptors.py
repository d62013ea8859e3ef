"""Descriptor exhaustion: idle sockets beyond the open-file limit cost them their connections, not
the server its health check, and the log a line or two."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from chat import Settings, create_app

from .processes import start_server
from .servers import running_server

if sys.platform == "linux":
    import resource

LIMIT = 128  # the open-file limit the server is given once it runs
IDLE_SOCKETS = 256
SHORTAGE_LINE = b"out of file descriptors"


@contextlib.contextmanager
def soft_open_file_limit(soft: int) -> Iterator[int]:
    """This process's soft limit lowered for a moment (a child started meanwhile inherits it); the hard one."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield before[1]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


@contextlib.asynccontextmanager
async def idle_sockets(port: int, count: int) -> AsyncIterator[list[socket.socket]]:
    """`count` connections that never send a byte."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sockets.append(sock)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (BlockingIOError, ConnectionError):
        return False


async def lines_until(stream: asyncio.StreamReader, marker: bytes, seen: list[bytes]) -> None:
    while marker not in (line := await stream.readline()):
        assert line, b"".join(seen)
        seen.append(line)
    seen.append(line)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="sets the open-file limit of another process (prlimit)")
async def test_idle_sockets_beyond_the_open_file_limit_are_shed_and_health_still_answers(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    with soft_open_file_limit(min(512, resource.getrlimit(resource.RLIMIT_NOFILE)[1] // 2)) as hard:
        process = await start_server(unused_tcp_port, cwd=tmp_path)
    assert process.stderr is not None
    stderr: list[bytes] = []
    try:
        assert resource.prlimit(process.pid, resource.RLIMIT_NOFILE) == (hard, hard)  # raised at start-up
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        async with idle_sockets(unused_tcp_port, IDLE_SOCKETS) as sockets:
            await asyncio.wait_for(lines_until(process.stderr, SHORTAGE_LINE, stderr), 10)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
                async with session.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as response:
                    assert response.status == 200
                    assert (await response.json())["status"] == "ok"
            assert sum(map(closed_by_server, sockets)) >= LIMIT // 4
    finally:
        process.terminate()
        stderr += (await asyncio.wait_for(process.communicate(), 10))[1].splitlines(keepends=True)
    log = b"".join(stderr)
    assert b"Traceback" not in log
    assert log.count(SHORTAGE_LINE) == 1, log[-2000:]
    assert len(stderr) <= 6, log[-2000:]


async def test_an_idle_connection_is_closed_after_the_keepalive_timeout(settings: Settings) -> None:
    async with running_server(create_app(dataclasses.replace(settings, keepalive_timeout=1))) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server, not by the wait
        finally:
            writer.close()
