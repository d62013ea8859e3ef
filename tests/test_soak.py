"""A bounded soak: waves of concurrent streams with random aborts leave nothing behind."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import random
import tracemalloc
from collections.abc import Iterator

import aiohttp
import pytest

from chat import Settings, create_app
from chat.simulator import Fault, Simulator
from chat.state.open_streams import open_streams_key

from .servers import running_server
from .sse_client import chat_body, parse_events, text_of

# 300 streams after the baseline: a leak of 1 KiB each would pass the 256 KiB bound.
STREAMS = 100
WAVES = 3


def short_answer(question: str) -> str:
    """40 tokens: each stream still spans many reads and ticks, at a fifth of the default's cost."""
    return question + ": " + " ".join(f"part{n}" for n in range(20)) + "."


class ShortAnswers(Simulator):
    def answer(self, body: dict[str, object]) -> str:
        messages = body["messages"]
        assert isinstance(messages, list)
        return short_answer(messages[-1]["content"])


def awaiting(task: asyncio.Task[object]) -> Iterator[str]:
    """The names of the coroutines a task is suspended in, outermost first. (`task.get_stack()` holds
    only the outermost frame of a suspended task: aiohttp's, never the handler's.)"""
    awaitable: object = task.get_coro()
    while (code := getattr(awaitable, "cr_code", None)) is not None:
        yield code.co_name
        awaitable = getattr(awaitable, "cr_await", None)


def relay_tasks() -> list[asyncio.Task[object]]:
    """The tasks still running a chat handler, or a stream's ping."""
    return [task for task in asyncio.all_tasks() if {"post_chat", "_send_ping"} & set(awaiting(task))]


@pytest.mark.slow
async def test_waves_of_streams_with_random_aborts(settings: Settings) -> None:
    # No keep-alive upstream: connection pools would grow and shrink with the random aborts.
    simulator = ShortAnswers(token_delay=0.001, keep_alive=False, record=True)
    chooser = random.Random(20261125)
    async with (
        simulator.serving() as upstream_url,
        running_server(
            app := create_app(dataclasses.replace(settings, endpoint=upstream_url, api_key=simulator.api_key))
        ) as url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True)) as session,
    ):

        async def one(number: int) -> str:
            question = f"soak {number}"
            response = await session.post(f"{url}/api/chat", json=chat_body(question))
            if chooser.random() < 0.5:
                for _ in range(chooser.randrange(1, 20)):
                    await response.content.readuntil(b"\n\n")
                response.close()
                return "aborted"
            events, _ = parse_events((await response.read()).decode())
            assert text_of(events) == short_answer(question)
            return events[-1].name

        async def wave(start: int) -> list[str]:
            outcomes = await asyncio.wait_for(asyncio.gather(*(one(start + n) for n in range(STREAMS))), 60)
            await asyncio.wait_for(asyncio.gather(*(r.ended.wait() for r in simulator.requests)), 10)
            assert simulator.open_requests == 0  # no upstream stream left running
            assert sum(r.hung_up for r in simulator.requests) == outcomes.count("aborted")
            simulator.forget()  # the test's own record of them, not the server's memory
            return outcomes

        # The check below sees an open stream: its handler.
        simulator.fail_next(Fault.STALL, after_chunks=1)
        async with session.post(f"{url}/api/chat", json=chat_body("held")) as held:
            assert (await held.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
            assert len(relay_tasks()) == 1
        await asyncio.wait_for(simulator.requests[0].ended.wait(), 5)
        simulator.forget()

        await wave(0)  # warm-up: caches, pools and interned strings settle
        tracemalloc.start()
        outcomes = await wave(STREAMS)  # connection pools on both sides reach their working size
        gc.collect()
        memory_before = tracemalloc.get_traced_memory()[0]
        outcomes += [o for w in range(2, WAVES + 2) for o in await wave(w * STREAMS)]
        await asyncio.wait_for(app[open_streams_key].wait_until_idle(), 5)
        gc.collect()
        memory_growth = tracemalloc.get_traced_memory()[0] - memory_before
        tracemalloc.stop()
        assert set(outcomes) == {"aborted", "done"}
        assert relay_tasks() == []
        # A leak of even 1 KiB per stream would show: WAVES * STREAMS streams ran since the baseline.
        assert memory_growth < 256 * 1024, f"{memory_growth} bytes kept after {WAVES} waves"
