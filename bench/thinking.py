"""Thinking streams: 10,000 answers of a reasoning model thinking in silence, held open in one relay
process (the real `server.py`), its RSS read before and with all open, and `/healthz` timed meanwhile.

Every stream holds two descriptors in the relay (the browser's socket and the upstream's), so the
relay needs 20,000 and a few; the load generator (this process) and the simulated upstream (a process
of its own, `bench.simulator_process`) hold one per stream each. Each process raises its soft limit to
the hard one; where the hard limit is too low, the run says so and holds what fits: the relay itself
admits only the streams its descriptors allow and answers the rest 503 `server_busy`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
import resource
import time
from collections.abc import AsyncIterator

import aiohttp

from .processes import RelayProcess
from .scenarios import percentile
from .simulator_process import SimulatorProcess

GOAL_KIB = 32.0  # RSS per open thinking stream
HEALTH_GOAL = 0.050  # seconds, p50 and max
THINKING_TIME = 3600.0  # longer than any run: the benchmark ends every stream itself
HEALTH_INTERVAL = 0.05  # seconds between /healthz probes, each on a new connection
OVERFLOW = 32  # streams offered beyond what the relay's descriptors hold: each must get 503, never a 500


@dataclasses.dataclass(frozen=True)
class ThinkingPlan:
    streams: int
    wave: int = 500  # opened at once, each wave once the last has its answers
    hold: float = 3.0  # seconds every stream stays open before the RSS is read: timers and pings run
    warm_up: int = 20  # streams opened and ended before the idle RSS is read (lazy imports, first allocations)


@dataclasses.dataclass
class ThinkingRun:
    plan: ThinkingPlan
    fd_limit: int  # the hard limit every process of the run is under
    offered: int
    opened: int = 0
    busy: int = 0  # 503 server_busy
    other: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    idle_kib: int = 0
    held_kib: int = 0
    relay_descriptors: int = 0  # open in the relay with every stream held
    opening_health: list[float] = dataclasses.field(default_factory=list)  # seconds, while the waves open
    health: list[float] = dataclasses.field(default_factory=list)  # seconds, with every stream held
    health_failures: int = 0
    open_seconds: float = 0.0

    @property
    def per_stream_kib(self) -> float:
        return (self.held_kib - self.idle_kib) / self.opened if self.opened else float("nan")

    @property
    def limited(self) -> bool:
        """Whether the descriptor limit, not the plan, set how many streams were offered."""
        return self.offered != self.plan.streams

    @property
    def health_ok(self) -> bool:
        p50 = percentile(self.health, 0.5)
        return p50 is not None and p50 <= HEALTH_GOAL and max(self.health) <= HEALTH_GOAL and not self.health_failures

    @property
    def sound(self) -> bool:
        """Every stream the relay had room for opened, and everything beyond it was a 503, not a failure."""
        return not self.other and self.opened > 0 and (not self.limited or self.busy > 0)


def offered_count(plan: ThinkingPlan, fd_limit: int) -> int:
    """The plan's streams, or, where two descriptors each exceed the limit, what fits and a few beyond."""
    return plan.streams if 2 * plan.streams < fd_limit else fd_limit // 2 + OVERFLOW


def descriptors_open(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@contextlib.asynccontextmanager
async def timing_health(url: str, run: ThinkingRun) -> AsyncIterator[None]:
    """/healthz asked every HEALTH_INTERVAL on a fresh connection while inside, each answer timed:
    while the streams open, then (once `run.open_seconds` is set) with all of them held."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=5)
    ) as session:

        async def probe() -> None:
            while True:
                started = time.perf_counter()
                try:
                    async with session.get(f"{url}/healthz") as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    (run.health if run.open_seconds else run.opening_health).append(time.perf_counter() - started)
                else:
                    run.health_failures += 1
                await asyncio.sleep(HEALTH_INTERVAL)

        task = asyncio.create_task(probe())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class StreamHolder:
    """Opens thinking streams through the relay and holds each one open until `close()`."""

    def __init__(self, session: aiohttp.ClientSession, url: str, run: ThinkingRun) -> None:
        self._session = session
        self._url = url
        self._run = run
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self, first: int, count: int) -> None:
        """`count` streams at once; returns when each has its answer's status."""
        loop = asyncio.get_running_loop()
        answered = [loop.create_future() for _ in range(count)]
        self._tasks += [asyncio.create_task(self._hold(first + n, answered[n])) for n in range(count)]
        await asyncio.gather(*answered)

    async def _hold(self, number: int, answered: asyncio.Future[None]) -> None:
        body = {"messages": [{"role": "user", "content": f"thinking stream {number}"}]}
        try:
            async with self._session.post(f"{self._url}/api/chat", json=body) as response:
                if response.status == 200:
                    self._run.opened += 1
                    answered.set_result(None)
                    await response.content.read()  # until closed: the model thinks for an hour
                    return
                code = await _error_code(response)
                if response.status == 503 and code == "server_busy":
                    self._run.busy += 1
                else:
                    self._run.other[f"{response.status} {code}"] += 1
        except aiohttp.ClientError as error:
            self._run.other[type(error).__name__] += 1
        finally:
            if not answered.done():
                answered.set_result(None)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


async def _error_code(response: aiohttp.ClientResponse) -> str:
    try:
        return str((await response.json())["error"]["code"])
    except (aiohttp.ClientError, ValueError, KeyError, TypeError):
        return "?"


async def measure_thinking(plan: ThinkingPlan) -> ThinkingRun:
    """One fresh simulator and relay; the streams opened in waves, held, then all ended."""
    fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    run = ThinkingRun(plan, fd_limit, offered_count(plan, fd_limit))
    simulator = SimulatorProcess("reasoning", THINKING_TIME)
    relay = RelayProcess("relay", ["server.py"], simulator.url, simulator.api_key)
    try:
        async with asyncio.TaskGroup() as starting:  # about a second each: side by side
            starting.create_task(simulator.start())
            starting.create_task(relay.start())
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
        ) as session:
            holder = StreamHolder(session, relay.url, dataclasses.replace(run, other=collections.Counter()))
            await holder.open(0, plan.warm_up)
            await holder.close()
            run.idle_kib = relay.rss_kib()
            holder = StreamHolder(session, relay.url, run)
            started = time.monotonic()
            async with timing_health(relay.url, run):
                for first in range(0, run.offered, plan.wave):
                    await holder.open(first, min(plan.wave, run.offered - first))
                run.open_seconds = time.monotonic() - started
                await asyncio.sleep(plan.hold)  # pings and timers run meanwhile
                run.held_kib = relay.rss_kib()
                run.relay_descriptors = descriptors_open(relay.pid)
            await holder.close()
    finally:
        await relay.stop()
        await simulator.stop()
    return run


def thinking_text(run: ThinkingRun) -> str:
    """The scenario's lines in the report, each figure against its goal."""
    p50, worst = percentile(run.health, 0.5), max(run.health, default=None)
    lines = []
    if run.limited:
        lines.append(
            f"descriptor hard limit {run.fd_limit:,} is below 2 x {run.plan.streams:,} streams and the relay's "
            f"spare: offered {run.offered:,} ({OVERFLOW} beyond the limit's half), the relay held what fits"
        )
    refused = ", ".join(f"{count} x {what}" for what, count in run.other.items()) or "none"
    lines.append(
        f"thinking streams: {run.opened:,} of {run.offered:,} offered held open in one relay process "
        f"({run.busy:,} answered 503 server_busy; other answers: {refused}), opened in {run.open_seconds:.1f} s; "
        f"relay descriptors {run.relay_descriptors:,} of {run.fd_limit:,}"
    )
    lines.append(
        f"RSS per thinking stream: {run.per_stream_kib:.1f} KiB (goal <= {GOAL_KIB:.0f}) "
        f"[{run.idle_kib / 1024:,.0f} MiB idle, {run.held_kib / 1024:,.0f} MiB with all open]"
    )
    lines.append(
        f"/healthz with all open: p50 {_ms(p50)}, max {_ms(worst)} ms over {len(run.health)} probes "
        f"(goal <= {HEALTH_GOAL * 1000:.0f} ms); while they opened, {run.plan.wave} at a time: p50 "
        f"{_ms(percentile(run.opening_health, 0.5))}, max {_ms(max(run.opening_health, default=None))} ms; "
        f"{run.health_failures} probes failed"
    )
    return "\n".join(lines)


def thinking_verdicts(run: ThinkingRun) -> list[tuple[bool, str]]:
    p50, worst = percentile(run.health, 0.5), max(run.health, default=None)
    return [
        (
            run.per_stream_kib <= GOAL_KIB,
            f"RSS per thinking stream at {run.opened:,}: {run.per_stream_kib:.1f} KiB (goal <= {GOAL_KIB:.0f} KiB)",
        ),
        (run.health_ok, f"/healthz during it: p50 {_ms(p50)} ms, max {_ms(worst)} ms (goal <= 50 ms)"),
        (run.sound, f"beyond the descriptors: {run.busy} x 503 server_busy, {sum(run.other.values())} other"),
    ]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"
