"""The daily quota under attack: parallel requests reserve what they may cost before any is counted,
answers left unfinished are charged their reservation, and Redis trouble gives no quota back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as redis
from aiohttp import ClientResponse
from prometheus_client import generate_latest

from chat.accounting.metrics import metrics_key
from chat.accounting.quota import quota_key
from chat.simulator import Simulator
from chat.state.open_streams import open_streams_key
from chat.state.shared_state import shared_state_key

from .metric_series import series, value
from .outcomes import watch
from .redis_server import RedisServer
from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory

ANSWER_TOKENS = 900
QUOTA = 1000
PARALLEL = 12


def _asking(tokens: int, text: str = "Hello") -> dict[str, object]:
    return {**chat_body(text), "max_completion_tokens": tokens}


async def _settled(*apps: Client) -> None:
    """Every answer has ended and its count reached Redis (or the process's own count)."""
    for app in apps:
        await asyncio.wait_for(app.app[open_streams_key].wait_until_idle(), 5)
        await app.app[shared_state_key].settled()


async def _all_admitted_or_refused(simulator: Simulator, posts: list[asyncio.Task[ClientResponse]]) -> int:
    """Wait until each request is either refused or held at the simulator; how many are held."""
    arrived = 0
    arrival = asyncio.ensure_future(simulator.next_request())
    try:
        while arrived + sum(post.done() for post in posts) < len(posts):
            waiting = [arrival, *(post for post in posts if not post.done())]
            await asyncio.wait_for(asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED), 10)
            if arrival.done():
                arrived += 1
                arrival = asyncio.ensure_future(simulator.next_request())
    finally:
        arrival.cancel()
    return arrived


@pytest.fixture(params=["redis", "in-process"])
def apps_of_one_quota(
    request: pytest.FixtureRequest, make_client: ClientFactory
) -> Iterator[tuple[str, dict[str, object]]]:
    """Two processes sharing one Redis, or one process on its own."""
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        yield "redis", {"redis_url": server.url, "tokens_per_day": QUOTA}
    else:
        yield "in-process", {"tokens_per_day": QUOTA}


async def test_parallel_requests_cannot_overrun_the_quota(
    apps_of_one_quota: tuple[str, dict[str, object]], make_client: ClientFactory, simulator: Simulator
) -> None:
    """12 requests of 900 tokens at once against a 1,000-token quota: one is answered."""
    mode, shared = apps_of_one_quota
    apps = (
        [await make_client(**shared), await make_client(**shared)] if mode == "redis" else [await make_client(**shared)]
    )
    simulator.hold = asyncio.Event()  # every answer waits until all requests were admitted or refused
    for _ in range(PARALLEL):
        simulator.script("word " * ANSWER_TOKENS)
    posts = [
        asyncio.create_task(apps[n % len(apps)].post("/api/chat", json=_asking(ANSWER_TOKENS))) for n in range(PARALLEL)
    ]
    held = await _all_admitted_or_refused(simulator, posts)
    simulator.hold.set()
    answered, used, refusals = 0, 0, []
    for response in await asyncio.gather(*posts):
        if response.status == 200:
            events, _ = await read_events(response)
            assert events[-1].name == "done"
            answered += 1
            used += events[-1].data["usage"]["total_tokens"]
        else:
            assert response.status == 429
            refusals.append((await response.json())["error"])
    assert held == answered == 1
    assert all(refusal["code"] == "quota_exceeded" for refusal in refusals)
    assert "answers in progress" in refusals[0]["message"] and refusals[0]["retry_after"] > 0
    assert used <= QUOTA
    await _settled(*apps)
    # Settled to what the answer came to: the reservation is given back, the real usage counted.
    quota = (await (await apps[0].get("/api/usage")).json())["quota"]
    assert (quota["used"], quota["reserved"]) == (used, 0)


async def test_a_lone_request_larger_than_what_is_left_is_still_answered(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    """With nothing else in progress a request is admitted while the quota is not spent, whatever its
    ceiling (the default ceiling exceeds most quotas); a second at the same time is not."""
    client = await make_client(tokens_per_day=QUOTA)
    simulator.hold = asyncio.Event()
    first = asyncio.create_task(client.post("/api/chat", json=chat_body()))  # reserves the 32,768 ceiling
    await simulator.next_request()
    second = await client.post("/api/chat", json=_asking(10))
    assert second.status == 429 and (await second.json())["error"]["code"] == "quota_exceeded"
    simulator.hold.set()
    events, _ = await read_events(await first)
    assert events[-1].name == "done"
    await _settled(client)
    events, _ = await read_events(await client.post("/api/chat", json=_asking(10)))
    assert events[-1].name == "done"


async def test_reasoning_answers_left_while_thinking_are_charged_their_reservation(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    """Left during the silent thinking, before any usage came: charged the prompt's estimate and the
    whole ceiling (the model bills what it thought), and the abandoned-tokens metric says the same."""
    client = await make_client(tokens_per_day=100_000, metrics=True)
    outcomes = watch(client)
    simulator.profile = "reasoning"
    simulator.thinking_time = 60.0  # the answer is left long before its thinking ends
    ceiling = 800
    charged = 0
    for _ in range(3):
        response = await client.post("/api/chat", json=_asking(ceiling))
        assert response.status == 200  # the stream has begun: the model is thinking
        response.close()  # the client leaves
        outcome = await outcomes.next()
        assert outcome.name == "client_gone" and outcome.usage is None
        tokens = outcome.tokens()
        assert tokens is not None and tokens.estimated
        assert tokens.completion == ceiling and tokens.total == outcome.prompt_estimate + ceiling
        charged += tokens.total
    await _settled(client)
    quota = (await (await client.get("/api/usage")).json())["quota"]
    assert (quota["used"], quota["reserved"]) == (charged, 0)
    found = series(generate_latest(client.app[metrics_key].registry).decode())
    assert value(found, "chat_abandoned_output_tokens_total", deployment="gpt-test") == 3 * ceiling


async def test_an_answer_that_reports_its_usage_is_charged_that(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(tokens_per_day=100_000)
    events, _ = await read_events(await client.post("/api/chat", json=_asking(5000)))
    await _settled(client)
    quota = (await (await client.get("/api/usage")).json())["quota"]
    assert quota["used"] == events[-1].data["usage"]["total_tokens"] < 1000


@contextlib.asynccontextmanager
async def _trouble(server: RedisServer, kind: str) -> AsyncIterator[None]:
    """Redis stopped, or turned read-only (a replica, as after a failover), for the block."""
    if kind == "stopped":
        server.stop()
        yield  # the fixture starts it again
        return
    async with redis.Redis.from_url(server.url) as connection:
        await connection.replicaof("127.0.0.1", 1)  # a master nobody runs: writes fail
        try:
            yield
        finally:
            await connection.replicaof("NO", "ONE")


@pytest.mark.parametrize("kind", ["stopped", "read-only"])
async def test_redis_trouble_gives_a_spent_quota_no_second_life(
    kind: str, make_client: ClientFactory, redis_server: RedisServer, simulator: Simulator
) -> None:
    """Spent through one process, refused by the other; Redis then goes wrong: still refused there,
    though that process itself never counted a token of it."""
    shared = {"redis_url": redis_server.url, "tokens_per_day": 50}
    spender, other = await make_client(**shared), await make_client(**shared)
    simulator.script("word " * 60)
    events, _ = await read_events(await spender.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    await _settled(spender)
    refused = await other.post("/api/chat", json=chat_body())
    assert refused.status == 429 and (await refused.json())["error"]["code"] == "quota_exceeded"
    async with _trouble(redis_server, kind):
        for _ in range(2):
            response = await other.post("/api/chat", json=chat_body())
            assert response.status == 429, await response.text()
            assert (await response.json())["error"]["code"] == "quota_exceeded"
        assert (await (await other.get("/api/usage")).json())["quota"]["used"] >= 50
    assert other.app[quota_key].enabled


async def test_a_reservation_lives_as_long_as_its_answer_and_lapses_with_a_dead_process(
    make_client: ClientFactory, redis_server: RedisServer, simulator: Simulator
) -> None:
    lease = 0.5
    shared = {"redis_url": redis_server.url, "tokens_per_day": QUOTA, "stream_lease_seconds": lease}
    first, second = await make_client(**shared), await make_client(**shared)
    simulator.hold = asyncio.Event()
    held = asyncio.create_task(first.post("/api/chat", json=_asking(ANSWER_TOKENS)))
    await simulator.next_request()
    await asyncio.sleep(3 * lease)  # the reservation is renewed with the answer's lease, not lapsed
    refused = await asyncio.wait_for(second.post("/api/chat", json=_asking(ANSWER_TOKENS)), 5)  # admitted: held
    assert refused.status == 429 and (await refused.json())["error"]["code"] == "quota_exceeded"
    await first.app[shared_state_key].close()  # as if the process died: nothing renews or settles it
    await asyncio.sleep(1.5 * lease)  # the lease time itself is what is tested
    admitted = asyncio.create_task(second.post("/api/chat", json=_asking(ANSWER_TOKENS)))
    await asyncio.wait_for(simulator.next_request(), 5)  # admitted: it reached the model
    simulator.hold.set()
    events, _ = await asyncio.wait_for(read_events(await admitted), 10)
    assert events[-1].name == "done"
    # The held answer ends too (its process only lost Redis), before the apps are torn down.
    await asyncio.wait_for(read_events(await asyncio.wait_for(held, 5)), 10)
    await asyncio.wait_for(first.app[open_streams_key].wait_until_idle(), 5)
