"""Redis that stalls, and Redis reached by other means than TCP: polling /healthz does not make chat
wait on a Redis that is away, and `CHAT_REDIS_URL=unix:///path` works from start-up to the last count."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as redis

from chat.state.open_streams import open_streams_key
from chat.state.shared_state import shared_state_key

from .processes import start_server
from .redis_server import RedisServer
from .sse_client import chat_body, parse_events, read_events
from .typedefs import ClientFactory, StartUp

ROUNDS = 6


async def test_polling_healthz_during_a_redis_stall_makes_nobody_wait(
    make_client: ClientFactory, redis_server: RedisServer
) -> None:
    """Each /healthz used to end the rest after a failure and ping: 0.5 s for it, and 0.5 s for each
    chat request that came meanwhile. Now it tells the state it knows, and pings once per rest."""
    client = await make_client(redis_url=redis_server.url)
    assert (await (await client.get("/healthz")).json())["redis"] == "ok"
    redis_server.pause()
    try:
        events, _ = await read_events(await client.post("/api/chat", json=chat_body()))  # finds Redis stalled
        assert events[-1].name == "done"
        began = time.monotonic()
        for _ in range(ROUNDS):
            health, chat = await asyncio.gather(client.get("/healthz"), client.post("/api/chat", json=chat_body()))
            assert (await health.json())["redis"] == "unreachable"
            events, _ = await read_events(chat)
            assert events[-1].name == "done"
        # Without the rest, each round waits for a ping to time out: ROUNDS * 0.5 s at least.
        assert time.monotonic() - began < ROUNDS * 0.5 / 2
        assert client.app[shared_state_key].retry_after > time.monotonic() - began  # all within one rest
    finally:
        redis_server.resume()


@pytest.fixture
def unix_redis() -> Iterator[RedisServer]:
    """A redis-server on a unix socket (its path short enough for sun_path)."""
    directory = Path(tempfile.mkdtemp(prefix="redis-", dir="/tmp"))
    server = RedisServer(directory, unix_socket=directory / "redis.sock")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for leftover in directory.iterdir():
            leftover.unlink()
        directory.rmdir()


@pytest.mark.slow
async def test_a_unix_socket_redis_is_shared_state_end_to_end(
    make_client: ClientFactory, unix_redis: RedisServer
) -> None:
    assert unix_redis.unix_socket is not None
    url = f"unix://{unix_redis.unix_socket}?db=3"
    shared = {"redis_url": url, "requests_per_minute": 2, "tokens_per_day": 100_000}
    first, second = await make_client(**shared), await make_client(**shared)
    statuses = []
    for app in (first, second, first):  # messages per minute counted in Redis through `limits`
        response = await app.post("/api/chat", json=chat_body())
        statuses.append(response.status)
        await response.read()
        await asyncio.wait_for(app.app[open_streams_key].wait_until_idle(), 5)
        await app.app[shared_state_key].settled()
    assert statuses == [200, 200, 429]
    assert (await (await first.get("/healthz")).json())["redis"] == "ok"
    used = (await (await second.get("/api/usage")).json())["quota"]["used"]
    assert used > 0  # counted by the first, told by the second
    async with redis.Redis.from_url(url) as connection:
        keys = {key if isinstance(key, str) else key.decode() for key in await connection.keys("chat:*")}
    assert any(key.startswith("chat:rate") for key in keys) and any(key.startswith("chat:quota:") for key in keys)


@pytest.mark.slow
def test_start_up_takes_a_unix_socket_url(start_up: StartUp, unix_redis: RedisServer) -> None:
    """It used to stop with the `limits` library's traceback."""
    with pytest.raises(AssertionError, match="settings were accepted"):
        start_up(CHAT_REDIS_URL=f"unix://{unix_redis.unix_socket}")


@pytest.mark.slow
async def test_a_server_process_chats_with_a_unix_socket_redis(
    tmp_path: Path, unused_tcp_port: int, unix_redis: RedisServer
) -> None:
    """`server.py` with `CHAT_REDIS_URL=unix:///...`, as the settings document it: it starts, chats,
    and counts into that Redis."""
    url = f"unix://{unix_redis.unix_socket}"
    process = await start_server(
        unused_tcp_port,
        cwd=tmp_path,
        CHAT_REDIS_URL=url,
        CHAT_REQUESTS_PER_MINUTE="5",
        SIMULATOR_TOKEN_DELAY="0",
        SIMULATOR_FIRST_TOKEN_DELAY="0",
    )
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{unused_tcp_port}"
            async with session.post(f"{base}/api/chat", json=chat_body("Ping?")) as response:
                events, _ = parse_events((await response.read()).decode())
            assert events[-1].name == "done"
            async with session.get(f"{base}/healthz") as response:
                assert (await response.json())["redis"] == "ok"
        async with redis.Redis.from_url(url) as connection:
            assert await connection.keys("chat:rate*")  # the message counted in Redis, through `limits`
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2@cache.example:hunter2/0",
        "redis://cache.example:6379/0?socket_timeout=hunter2",
        "unix:///s?db=hunter2",
        "unix://",  # no socket path
    ],
)
def test_a_redis_url_the_libraries_refuse_is_one_line(start_up: StartUp, url: str) -> None:
    returncode, _, stderr = start_up(CHAT_REDIS_URL=url)
    assert returncode == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: CHAT_REDIS_URL (redis_url) ")
    assert "hunter2" not in stderr and "Traceback" not in stderr
