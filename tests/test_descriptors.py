"""Descriptor exhaustion: idle sockets beyond the open-file limit cost them their connections, not
the server its health check, and the log a line or two; chats beyond it get 503 server_busy."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from chat import Settings, create_app
from chat.simulator import Simulator

from .processes import SERVER, server_environment, start_server
from .servers import running_server
from .sse_client import chat_body

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


LOW_LIMIT = 200  # the server's open-file limit, soft and hard, from its start
HOGS = 80  # idle connections that eat into its spare before the chats come
CHATS = 100  # connected before any is sent, so that their upstream connects find few descriptors left
UPSTREAM_SHORTAGE_LINE = b"no file descriptor left to connect to the model service"
OUTCOME_LINE = b"chat.relay: chat outcome="  # one a chat


async def started_with_open_file_limit(port: int, cwd: Path, limit: int, **env: str) -> asyncio.subprocess.Process:
    """`python server.py` under an open-file limit it cannot raise, once it says it listens."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        "--port",
        str(port),
        env=server_environment(**env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)),
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.startswith(b"chat server on http://"), line
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process


def descriptors_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def until_accepted(pid: int, descriptors: int) -> None:
    """Until the server holds `descriptors`: the connections made are accepted (no event says so)."""
    for _ in range(500):
        if descriptors_of(pid) >= descriptors:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{descriptors_of(pid)} descriptors open, not {descriptors}")


async def chat_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> tuple[int, str]:
    """One chat sent on a connection already open: its status and error code (`chat` for a stream)."""
    body = orjson.dumps(chat_body(f"chat {number}"))
    writer.write(
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    status = int(head.split(" ", 2)[1])
    if status == 200:
        return status, "chat"
    length = int(next(line for line in head.split("\r\n") if line.lower().startswith("content-length:")).split(":")[1])
    return status, orjson.loads(await reader.readexactly(length))["error"]["code"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="sets the open-file limit of another process")
async def test_more_chats_than_descriptors_get_200_or_503_server_busy_never_a_500(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    simulator = Simulator(profile="reasoning", thinking_time=30)  # thinks in silence: every chat stays open
    async with simulator.serving() as upstream:
        process = await started_with_open_file_limit(
            unused_tcp_port,
            tmp_path,
            LOW_LIMIT,
            AZURE_OPENAI_ENDPOINT=upstream,
            AZURE_OPENAI_API_KEY=simulator.api_key,
            AZURE_OPENAI_DEPLOYMENT="o4-mini",
            CHAT_MAX_STREAMS_PER_CLIENT="1000",
            CHAT_REQUESTS_PER_MINUTE="0",
            CHAT_SHUTDOWN_TIMEOUT="0.5",
        )
        connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        try:
            at_start = descriptors_of(process.pid)
            async with idle_sockets(unused_tcp_port, HOGS):
                for _ in range(CHATS):
                    connections.append(await asyncio.open_connection("127.0.0.1", unused_tcp_port))
                await until_accepted(process.pid, at_start + HOGS + CHATS)
                answers = collections.Counter(
                    await asyncio.wait_for(
                        asyncio.gather(*(chat_answer(r, w, n) for n, (r, w) in enumerate(connections))), 20
                    )
                )
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                    async with session.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as health:
                        assert health.status == 200
        finally:
            for _, writer in connections:
                writer.close()
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), 10)
    log = stderr.decode()
    assert set(answers) == {(200, "chat"), (503, "server_busy")}, (answers, log[-3000:])
    assert "Traceback" not in log, log[-3000:]
    lines = [line for line in stderr.splitlines() if OUTCOME_LINE not in line]
    warning = [line for line in lines if b"CHAT_MAX_STREAMS=1,000 needs" in line]
    assert len(warning) == 1 and b"the open-file limit is 200" in warning[0], log[-3000:]
    assert stderr.count(UPSTREAM_SHORTAGE_LINE) == 1, log[-3000:]  # the connects beyond the descriptors
    assert stderr.count(SHORTAGE_LINE) <= 1, log[-3000:]  # the accept of /healthz may find none too
    assert len(lines) <= 6, b"\n".join(lines).decode()
