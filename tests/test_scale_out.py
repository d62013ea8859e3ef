"""Several server processes behind Debian's nginx (the project's recipe, round-robin), sharing a real
Redis: limits hold whichever process a request reaches, a killed process frees its places, and chat
goes on without Redis."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chat.config.values import DEFAULT_SYSTEM_PROMPT
from chat.run.children import free_port
from chat.simulator import Fault, Simulator
from chat.simulator.answers import tokens

from .nginx_server import NginxServer
from .processes import start_logged_server
from .redis_server import RedisServer
from .sse_client import chat_body, parse_events

pytestmark = pytest.mark.slow  # servers as their own processes

LEASE_SECONDS = 1.0
# Each request reserves its prompt and its token ceiling of the small quota below: a small ceiling
# lets a client hold two streams at once.
CEILING = {"max_completion_tokens": 2}
# Each chat of the quota test: the default system prompt and "Hello" in, "ok" out.
TOKENS_PER_CHAT = len(tokens(DEFAULT_SYSTEM_PROMPT)) + len(tokens("Hello")) + len(tokens("ok"))


class Cluster:
    def __init__(self, processes: list[asyncio.subprocess.Process], nginx: NginxServer, logs: list[Path]) -> None:
        self.processes = processes
        self.nginx = nginx
        self.logs = logs

    async def chat(self, session: aiohttp.ClientSession, text: str = "Hello") -> tuple[int, list[str]]:
        async with session.post(f"{self.nginx.url}/api/chat", json=chat_body(text) | CEILING) as response:
            body = await response.text()
            if response.status != 200:
                return response.status, [body]
            events, _ = parse_events(body)
            return 200, [event.name for event in events]


@pytest.fixture
async def cluster(
    tmp_path: Path, redis_server: RedisServer, upstream: TestServer, simulator: Simulator
) -> AsyncIterator[Cluster]:
    ports = [free_port(), free_port()]
    env = {
        "AZURE_OPENAI_ENDPOINT": str(upstream.make_url("/")),
        "AZURE_OPENAI_API_KEY": simulator.api_key,
        "AZURE_OPENAI_DEPLOYMENT": "gpt-test",
        "CHAT_REDIS_URL": redis_server.url,
        "CHAT_MAX_STREAMS_PER_CLIENT": "2",
        "CHAT_STREAM_LEASE_SECONDS": str(LEASE_SECONDS),
        "CHAT_TRUSTED_PROXIES": "127.0.0.1",  # nginx, as the recipe says to set
        "CHAT_PING_INTERVAL": "0.2",
        "CHAT_TOKENS_PER_DAY": str(3 * TOKENS_PER_CHAT),  # three chats in all, whichever process answers
    }
    logs = [tmp_path / f"server-{n}.log" for n in range(2)]
    started = await asyncio.gather(
        *(start_logged_server(port, log, **env) for port, log in zip(ports, logs, strict=True)), return_exceptions=True
    )
    processes = [process for process in started if isinstance(process, asyncio.subprocess.Process)]
    nginx = NginxServer(ports, tmp_path)
    try:
        if failed := [error for error in started if isinstance(error, BaseException)]:
            raise failed[0]
        nginx.start()
        yield Cluster(processes, nginx, logs)
    finally:
        nginx.stop()
        for process in processes:  # also when one of them failed to start
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def _held_streams(
    cluster: Cluster, simulator: Simulator, session: aiohttp.ClientSession, count: int
) -> list[aiohttp.ClientResponse]:
    """`count` streams held open (the upstream stalls after its headers), one after another so that
    round-robin spreads them over the processes."""
    simulator.fail_next(Fault.STALL, after_chunks=0, times=count)
    held = []
    for _ in range(count):
        response = await session.post(f"{cluster.nginx.url}/api/chat", json=chat_body() | CEILING)
        assert response.status == 200
        record = await asyncio.wait_for(simulator.next_request(), 5)
        await asyncio.wait_for(record.streaming.wait(), 5)
        held.append(response)
    return held


async def test_a_third_stream_is_refused_by_whichever_process_receives_it(
    cluster: Cluster, simulator: Simulator
) -> None:
    async with aiohttp.ClientSession() as holder, aiohttp.ClientSession() as session:
        held = await _held_streams(cluster, simulator, holder, 2)
        for _ in range(2):  # round-robin: once to each process
            status, body = await cluster.chat(session)
            assert status == 429 and '"too_many_streams"' in body[0]
        for response in held:
            response.close()


async def test_a_killed_process_frees_its_places_within_the_lease_time(cluster: Cluster, simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as holder, aiohttp.ClientSession() as session:
        held = await _held_streams(cluster, simulator, holder, 2)
        cluster.processes[0].send_signal(signal.SIGKILL)  # no chance to give anything back
        await cluster.processes[0].wait()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        while True:  # nginx passes over the dead process; its lease runs out
            status, names = await cluster.chat(session)
            if status == 200:
                break
            assert loop.time() - killed_at < LEASE_SECONDS * 3, "the dead process's place was never freed"
            await asyncio.sleep(0.1)  # the lease time itself is what is tested
        assert names[-1] == "done"
        for response in held:
            response.close()


async def test_chat_goes_on_when_redis_stops(cluster: Cluster, redis_server: RedisServer, simulator: Simulator) -> None:
    redis_server.stop()
    async with aiohttp.ClientSession() as session:
        for _ in range(4):  # both processes
            simulator.script("ok")
            status, names = await cluster.chat(session)
            assert status == 200 and names[-1] == "done"
        async with session.get(f"{cluster.nginx.url}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["redis"] == "unreachable"


async def test_the_daily_quota_holds_whichever_process_answers(cluster: Cluster, simulator: Simulator) -> None:
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(6):  # round-robin: three to each process
            simulator.script("ok")
            status, body = await cluster.chat(session)
            statuses.append(status)
            if status != 200:
                assert '"quota_exceeded"' in body[0]
    # Counted apart, each process would allow three. A count is added as an answer ends, so a
    # request that arrives within that moment may still pass: at most one more.
    assert statuses[:3] == [200, 200, 200]
    assert statuses.count(200) <= 4 and statuses[-1] == 429


async def test_the_nginx_recipe_keeps_a_thinking_model_s_stream_open(
    tmp_path: Path, upstream: TestServer, simulator: Simulator
) -> None:
    """nginx drops a stream silent for proxy_read_timeout; pings keep one open however long the model
    thinks (here nginx waits 1 s, the model thinks 2.5 s, pings every 0.3 s)."""
    simulator.profile = "reasoning"
    simulator.thinking_time = 2.5
    simulator.script("Thought it through.")
    port = free_port()
    env = {
        "AZURE_OPENAI_ENDPOINT": str(upstream.make_url("/")),
        "AZURE_OPENAI_API_KEY": simulator.api_key,
        "AZURE_OPENAI_DEPLOYMENT": "gpt-test",
        "CHAT_TRUSTED_PROXIES": "127.0.0.1",
        "CHAT_PING_INTERVAL": "0.3",
    }
    process = await start_logged_server(port, tmp_path / "server.log", **env)
    nginx = NginxServer([port], tmp_path, proxy_read_timeout="1s")
    try:
        nginx.start()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{nginx.url}/api/chat", json=chat_body()) as response:
                assert response.status == 200
                events, comments = parse_events(await response.text())
        assert events[-1].name == "done"
        assert "".join(event.data["content"] for event in events if event.name == "delta") == "Thought it through."
        assert len(comments) >= 5  # the pings that kept nginx from giving up
    finally:
        nginx.stop()
        process.terminate()
        await process.wait()
