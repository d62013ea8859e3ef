"""Memory per open stream in the worst case the relay admits: request headers at its limit, a
conversation at the default limits written in the widest characters, and an upstream that sends
its headers and then nothing, so every stream stays open. Many at once, each run in a fresh relay."""

from __future__ import annotations

import asyncio
import dataclasses
import statistics

import aiohttp
import orjson

from chat import Settings
from chat.relay.request import MAX_HEADER_BYTES
from chat.simulator import Fault, Simulator

from .processes import RelayProcess

WIDEST = "😀"  # four bytes in UTF-8, four bytes a character in a Python str
HEADER_VALUE = 8000  # under aiohttp's 8,190 bytes a header line
OWN_HEADERS = 512  # what aiohttp's client sends besides (Host, Content-Type, ...), generously


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    streams: int  # open at once
    runs: int


@dataclasses.dataclass(frozen=True)
class MemoryRun:
    opened: int
    idle_kib: int
    held_kib: int

    @property
    def per_stream_kib(self) -> float:
        return (self.held_kib - self.idle_kib) / self.opened if self.opened else float("nan")


def worst_case_request(number: int) -> tuple[dict[str, str], bytes]:
    """Headers just under the relay's limit and the longest conversation the defaults admit."""
    headers = {"Content-Type": "application/json"}
    room = MAX_HEADER_BYTES - OWN_HEADERS
    while room > HEADER_VALUE:
        name = f"X-Filler-{len(headers)}"
        headers[name] = "h" * HEADER_VALUE
        room -= len(name) + HEADER_VALUE
    defaults = Settings()
    count = -(-defaults.max_total_chars // defaults.max_message_chars) | 1  # odd: the last is the user's
    per_message = defaults.max_total_chars // count
    messages = []
    for index in range(count):
        prefix = f"memory {number}.{index} "
        messages.append(
            {
                "role": "user" if index % 2 == 0 else "assistant",
                "content": prefix + WIDEST * (per_message - len(prefix)),
            }
        )
    return headers, orjson.dumps({"messages": messages})


async def hold_streams(session: aiohttp.ClientSession, url: str, count: int) -> tuple[int, list[asyncio.Task[None]]]:
    """Open `count` worst-case streams at once: how many opened, and the tasks holding them open."""
    loop = asyncio.get_running_loop()
    opened: list[asyncio.Future[bool]] = [loop.create_future() for _ in range(count)]

    async def hold(number: int) -> None:
        headers, body = worst_case_request(number)
        try:
            async with session.post(f"{url}/api/chat", data=body, headers=headers) as response:
                opened[number].set_result(response.status == 200)
                await response.content.read()  # until cancelled: the upstream stays silent
        finally:
            if not opened[number].done():
                opened[number].set_result(False)

    tasks = [asyncio.create_task(hold(number)) for number in range(count)]
    return sum(await asyncio.gather(*opened)), tasks


async def measure_memory(
    simulator: Simulator, session: aiohttp.ClientSession, upstream: str, plan: MemoryPlan
) -> list[MemoryRun]:
    runs = []
    for _ in range(plan.runs):
        async with RelayProcess("relay", ["server.py"], upstream, simulator.api_key) as relay:
            idle = relay.rss_kib()
            simulator.fail_next(Fault.STALL, after_chunks=0, times=plan.streams)  # headers, then silence
            opened, tasks = await hold_streams(session, relay.url, plan.streams)
            runs.append(MemoryRun(opened, idle, relay.rss_kib()))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        simulator.forget()  # the records hold every conversation
    return runs


def memory_text(plan: MemoryPlan, runs: list[MemoryRun], default_streams: int) -> str:
    figures = [run.per_stream_kib for run in runs]
    median = statistics.median(figures)
    opened = min(run.opened for run in runs)
    return (
        f"worst-case memory per open stream ({plan.streams} at once, {opened} opened; headers at "
        f"{MAX_HEADER_BYTES // 1024} KiB, {Settings().max_total_chars:,}-character conversations in 4-byte "
        f"characters, upstream silent): {median:,.0f} KiB RSS, median of {len(runs)} "
        f"({', '.join(f'{figure:,.0f}' for figure in figures)}); {default_streams:,} streams: "
        f"{median * default_streams / 1024:,.0f} MiB"
    )
