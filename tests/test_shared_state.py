"""Limits shared through a real Redis by two apps (as two processes would share them), and chat
that keeps working when Redis goes away."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging

import pytest

from chat import Settings, SettingsError
from chat.simulator import Fault, Simulator
from chat.state import shared_state
from chat.state.open_streams import open_streams_key
from chat.state.shared_state import shared_state_key

from .redis_server import RedisServer
from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory


@pytest.fixture
async def two_processes(make_client: ClientFactory, redis_server: RedisServer) -> tuple[Client, Client]:
    """Two apps, each with its own limits state, sharing one Redis."""
    shared = {"redis_url": redis_server.url, "max_streams_per_client": 2, "stream_lease_seconds": 1.0}
    return await make_client(**shared), await make_client(**shared)


async def test_a_third_stream_is_refused_by_whichever_process_gets_it(
    two_processes: tuple[Client, Client], simulator: Simulator
) -> None:
    first, second = two_processes
    simulator.fail_next(Fault.STALL, after_chunks=0, times=2)
    held = [await first.post("/api/chat", json=chat_body()), await second.post("/api/chat", json=chat_body())]
    assert [response.status for response in held] == [200, 200]
    for app in (first, second):
        response = await app.post("/api/chat", json=chat_body())
        assert response.status == 429
        assert (await response.json())["error"]["code"] == "too_many_streams"
    for response in held:
        response.close()
    # Each place is given back as its stream ends, on whichever process held it.
    await asyncio.wait_for(asyncio.gather(*(app.app[open_streams_key].wait_until_idle() for app in (first, second))), 5)
    events, _ = await read_events(await first.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"


async def test_messages_per_minute_are_counted_across_processes(
    make_client: ClientFactory, redis_server: RedisServer
) -> None:
    first = await make_client(redis_url=redis_server.url, requests_per_minute=3)
    second = await make_client(redis_url=redis_server.url, requests_per_minute=3)
    statuses = []
    for app in (first, second, first, second):
        response = await app.post("/api/chat", json=chat_body())
        statuses.append(response.status)
        await response.read()
    assert statuses == [200, 200, 200, 429]


async def test_failed_sign_ins_are_counted_across_processes(
    make_client: ClientFactory, redis_server: RedisServer
) -> None:
    locked = {"redis_url": redis_server.url, "basic_auth": (("ada", "correct horse battery"),)}
    first, second = await make_client(**locked), await make_client(**locked)
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ada:wrong guess").decode()}
    statuses = [(await app.post("/api/chat", json=chat_body(), headers=wrong)).status for app in (first, second) * 3]
    assert statuses == [401] * 5 + [429]


async def test_chat_keeps_working_while_redis_is_away_and_uses_it_again_when_back(
    make_client: ClientFactory, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(redis_url=redis_server.url, requests_per_minute=100)
    shared = client.app[shared_state_key]
    shared.retry_after = 0.2  # the rest after a failure, shortened
    assert (await (await client.get("/healthz")).json())["redis"] == "ok"
    redis_server.stop()
    for _ in range(3):
        events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
        assert events[-1].name == "done"
    health = await client.get("/healthz")
    assert health.status == 200  # a load balancer must not take every process out
    assert (await health.json())["redis"] == "unreachable"
    unreachable = [r for r in caplog.records if "redis-unreachable" in r.getMessage()]
    assert len(unreachable) == 1
    assert "127.0.0.1" in unreachable[0].getMessage()
    redis_server.start()
    await asyncio.sleep(shared.retry_after)  # the rest itself is what is waited for
    assert (await (await client.get("/healthz")).json())["redis"] == "ok"
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert any("redis-back" in r.getMessage() for r in caplog.records)


async def test_a_lease_left_by_a_dead_process_expires(
    make_client: ClientFactory, redis_server: RedisServer, simulator: Simulator, settings: Settings
) -> None:
    """Seen from Redis: a place whose holder stops renewing is free after the lease time."""
    import redis.asyncio as redis

    from chat.state.open_streams import ACQUIRE

    loop = asyncio.get_running_loop()
    async with redis.Redis.from_url(redis_server.url) as connection:
        # A dead process's lease: taken, never renewed, never released. 1.5 s: long enough for a busy
        # machine to start the app and ask before it lapses.
        taken = loop.time()
        verdict = await connection.eval(ACQUIRE, 2, "chat:streams:ip:127.0.0.1", "chat:streams", "dead-1", 1500, 1, 100)
        assert verdict == [0, 0]
    client = await make_client(redis_url=redis_server.url, max_streams_per_client=1, stream_lease_seconds=0.5)
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 429
    await asyncio.sleep(taken + 1.6 - loop.time())  # the lease time itself is what is tested
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"


def test_redis_url_forms(redis_server: RedisServer) -> None:
    for url in ("redis://127.0.0.1:6379/0", "rediss://:secret@cache.example:6380/1", "unix:///run/redis.sock"):
        assert Settings(redis_url=url).redis_url == url
    with pytest.raises(SettingsError, match="CHAT_REDIS_URL") as raised:
        Settings.from_env({"CHAT_REDIS_URL": "http://:hunter2@cache.example"})
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in repr(dataclasses.replace(Settings(), redis_url="redis://:hunter2@h/0"))


async def test_the_redis_password_never_reaches_the_log(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    client = await make_client(redis_url="redis://:hunter2-secret@127.0.0.1:1/0")  # nobody listens there
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert "hunter2" not in caplog.text
    assert "redis-unreachable" in caplog.text


async def test_usage_adds_up_across_processes(
    make_client: ClientFactory, redis_server: RedisServer, simulator: Simulator
) -> None:
    first = await make_client(redis_url=redis_server.url)
    second = await make_client(redis_url=redis_server.url)
    reported = 0
    for app in (first, second, second):
        events, _ = await read_events(await app.post("/api/chat", json=chat_body()))
        reported += events[-1].data["usage"]["total_tokens"]
        await asyncio.wait_for(app.app[open_streams_key].wait_until_idle(), 5)  # the answer has ended
        await app.app[shared_state_key].settled()  # and its counts, added as it ended, have been written
    for app in (first, second):  # either process tells the whole
        today = (await (await app.get("/api/usage")).json())["today"]
        assert today["requests"] == 3
        assert today["total_tokens"] == reported


async def test_a_burst_waits_for_a_redis_connection_instead_of_taking_redis_for_away(
    make_client: ClientFactory, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five times more commands than connections. A small pool, and timeouts no busy machine outlasts:
    # a connect, a read or a wait in line over 0.5 s is another failure than the one guarded here.
    monkeypatch.setattr(shared_state, "MAX_CONNECTIONS", 20)
    monkeypatch.setattr(shared_state, "TIMEOUT", 10.0)
    client = await make_client(redis_url=redis_server.url)
    shared = client.app[shared_state_key]
    results = await asyncio.gather(*(shared.run(lambda redis: redis.incr("burst")) for _ in range(100)))
    assert sorted(results)[-1] - sorted(results)[0] == 99  # every command reached Redis
    assert shared.status == "ok"
