"""The scenarios: the same load against the upstream itself, the relay and the naive relay, in one run."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Sequence

import aiohttp

from chat.simulator import Fault, SimulatedRequest

from .answers import BenchSimulator, question
from .load import Abort, StreamResult, Target, stream_many, stream_then_abort
from .processes import RelayProcess, cpu_seconds

DELAY_LIMIT = 0.050  # saturation: highest p95 inter-token delay the relay may add
ABORT_TOKEN_DELAY = 0.03  # a model's usual pace; 100 streams of it are well within the relay's means


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    streams: int  # concurrent streams
    words: int  # upstream chunks per answer
    token_delay: float
    rounds: int = 1  # repeated one after the other, for more samples
    hold: bool = False  # measure memory with every stream open


@dataclasses.dataclass
class LoadRun:
    scenario: Scenario
    target: str
    results: list[StreamResult]
    wall: float
    upstream_chunks: int
    bench_cpu: float
    upstream_span: float = 0.0
    server_cpu: float | None = None
    peak_rss_kib: int | None = None
    idle_rss_kib: int | None = None
    open_rss_kib: int | None = None
    open_streams: int = 0  # upstream streams sending at once when `open_rss_kib` was read

    @property
    def exact(self) -> int:
        return sum(result.exact for result in self.results)

    def ttft(self, fraction: float) -> float | None:
        return percentile([t for r in self.results if (t := r.ttft) is not None], fraction)

    def gap(self, fraction: float) -> float | None:
        return percentile([gap for result in self.results for gap in result.gaps()], fraction)

    def steady_gap(self, fraction: float) -> float | None:
        """Inter-token delay once every stream has begun and before any has ended.

        Starting N streams in the same millisecond costs the relay N upstream requests at once;
        the tokens of the first streams wait meanwhile. That is the ramp, not the rate.
        """
        firsts = [r.first_text for r in self.results if r.first_text is not None]
        lasts = [r.text_reads[-1] for r in self.results if r.text_reads]
        if not firsts or not lasts or max(firsts) >= min(lasts):
            return self.gap(fraction)
        begin, end = max(firsts), min(lasts)
        return percentile(
            [
                later - earlier
                for r in self.results
                for earlier, later in zip(r.text_reads, r.text_reads[1:])
                if earlier >= begin and later <= end
            ],
            fraction,
        )

    @property
    def chunk_rate(self) -> float:
        """Upstream chunks per second, from the first upstream request to the last stream's end."""
        return self.upstream_chunks / self.upstream_span if self.upstream_span else 0.0

    @property
    def chunks_per_cpu_second(self) -> float | None:
        return self.upstream_chunks / self.server_cpu if self.server_cpu else None

    @property
    def memory_per_stream_kib(self) -> float | None:
        if self.open_rss_kib is None or self.idle_rss_kib is None or not self.open_streams:
            return None
        return (self.open_rss_kib - self.idle_rss_kib) / self.open_streams


@dataclasses.dataclass(frozen=True)
class AbortPlan:
    count: int  # streams, each closed by its client
    spread: float = 0.5  # seconds the closes are spread over, so each one is timed on its own
    settle: float = 2.0  # seconds an aborted upstream stream is given to end before it counts as still running


@dataclasses.dataclass
class AbortRun:
    phase: str
    target: str
    aborts: int
    opened: int
    latencies: list[float]
    still_running: int


@dataclasses.dataclass
class SaturationStep:
    streams: int
    offered: float  # chunks per second the upstream was asked to send
    runs: dict[str, LoadRun]

    def added_p95(self, target: str) -> float | None:
        relay, direct = self.runs[target].steady_gap(0.95), self.runs["direct"].steady_gap(0.95)
        return None if relay is None or direct is None else relay - direct

    def sustained(self, target: str) -> bool:
        """Every text exact, p95 added delay under the limit, and the upstream not held back."""
        run = self.runs[target]
        added = self.added_p95(target)
        return (
            run.exact == len(run.results)
            and added is not None
            and added < DELAY_LIMIT
            and run.chunk_rate >= 0.9 * self.runs["direct"].chunk_rate
        )


class Bench:
    """The simulated upstream (in this process), the client session, and the targets to drive."""

    def __init__(
        self,
        simulator: BenchSimulator,
        session: aiohttp.ClientSession,
        direct: Target,
        relays: Sequence[tuple[Target, RelayProcess]],
    ) -> None:
        self.simulator = simulator
        self.session = session
        self.direct = direct
        self.relays = list(relays)

    @property
    def targets(self) -> list[tuple[Target, RelayProcess | None]]:
        return [(self.direct, None), *self.relays]

    def _records(self, since: int) -> list[SimulatedRequest]:
        return self.simulator.requests[since:]

    async def warm_up(self) -> None:
        for target, _ in self.targets:
            await self.warm_up_one(target)

    async def warm_up_one(self, target: Target) -> None:
        self.simulator.token_delay = self.simulator.first_token_delay = 0.0
        for number in range(3):
            await stream_many(self.session, target, [question(f"warm-{target.name}", number, 20)], 10)

    async def run(self, scenario: Scenario, target: Target, process: RelayProcess | None) -> LoadRun:
        self.simulator.token_delay = scenario.token_delay
        self.simulator.first_token_delay = 0.0
        timeout = 30 + scenario.words * scenario.token_delay * 3
        since = len(self.simulator.requests)
        idle_rss = process.rss_kib() if process else None
        open_streams, open_rss = 0, None
        server_cpu = process.cpu_seconds() if process else 0.0
        bench_cpu = cpu_seconds()
        started = time.monotonic()
        results: list[StreamResult] = []
        for round_number in range(scenario.rounds):
            label = f"{scenario.name.replace(' ', '-').replace(',', '')}-{target.name}-{round_number}"
            questions = [question(label, number, scenario.words) for number in range(scenario.streams)]
            load = asyncio.create_task(stream_many(self.session, target, questions, timeout))
            if scenario.hold and process is not None and round_number == 0:
                open_streams, open_rss = await self._rss_with_most_open(process, since, load)
            results.extend(await load)
        wall = time.monotonic() - started
        records = self._records(since)
        run = LoadRun(
            scenario,
            target.name,
            results,
            wall,
            sum(record.content_chunks_sent for record in records),
            cpu_seconds() - bench_cpu,
            max(r.ended_at or 0.0 for r in records) - min(r.started for r in records) if records else 0.0,
        )
        if process is not None:
            run.server_cpu = process.cpu_seconds() - server_cpu
            run.peak_rss_kib = process.peak_rss_kib()
            run.idle_rss_kib, run.open_rss_kib, run.open_streams = idle_rss, open_rss, open_streams
        return run

    async def _rss_with_most_open(
        self, process: RelayProcess, since: int, load: asyncio.Task[list[StreamResult]]
    ) -> tuple[int, int | None]:
        """The relay's RSS at the moment most upstream streams were sending text at once."""
        most, rss = 0, None
        deadline = time.monotonic() + 120
        while not load.done() and time.monotonic() < deadline:
            streaming = sum(1 for r in self._records(since) if r.content_chunks_sent and not r.ended.is_set())
            if streaming and streaming >= most:
                most, rss = streaming, process.rss_kib()
            await asyncio.sleep(0.1)
        return most, rss

    async def abort(self, phase: str, target: Target, plan: AbortPlan, seed: int = 1) -> AbortRun:
        """`plan.count` streams, each closed by its client mid-answer; how soon did each upstream end?"""
        count = plan.count
        streaming = phase == "streaming"
        self.simulator.first_token_delay = 0.0
        self.simulator.token_delay = ABORT_TOKEN_DELAY
        if not streaming:
            self.simulator.fail_next(Fault.STALL, after_chunks=0, times=count)  # headers, then silence
        since = len(self.simulator.requests)
        arrivals: asyncio.Queue[Abort] = asyncio.Queue()
        ready = asyncio.Event()
        rng = random.Random(seed)
        tasks = [
            asyncio.create_task(
                stream_then_abort(
                    self.session,
                    target,
                    question(f"abort-{phase}-{target.name}", number, 3000),
                    wait_for_text=streaming,
                    arrivals=arrivals,
                    ready=ready,
                    spread=plan.spread,
                    rng=rng,
                    timeout=30,
                )
            )
            for number in range(count)
        ]
        try:
            async with asyncio.timeout(20):
                for _ in range(count):
                    await arrivals.get()
                if not streaming:  # the relay has its upstream's headers only once its client has them
                    while not all(r.streaming.is_set() for r in self._records(since)):
                        await asyncio.sleep(0.01)
        except TimeoutError:
            pass
        ready.set()
        aborts = {abort.question: abort for abort in await asyncio.gather(*tasks)}
        deadline = time.monotonic() + plan.settle
        records = self._records(since)
        while any(not r.ended.is_set() for r in records) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        latencies = []
        for record in records:
            abort = aborts.get(record.body["messages"][-1]["content"])
            if abort and abort.opened and abort.aborted_at is not None and record.ended_at is not None:
                latencies.append(max(0.0, record.ended_at - abort.aborted_at))
        return AbortRun(
            phase,
            target.name,
            count,
            sum(a.opened for a in aborts.values()),
            latencies,
            sum(not r.ended.is_set() for r in records),
        )

    async def saturate(
        self,
        budget: float,
        steps: Sequence[int] = (20, 40, 60, 80, 100, 130, 160, 200, 250),
        token_delay: float = 0.01,
        words: int = 150,
    ) -> list[SaturationStep]:
        """Step the offered chunk rate up until every relay fails to keep up, or the time is spent."""
        ends = time.monotonic() + budget
        alive = {target.name for target, _ in self.relays}
        found: list[SaturationStep] = []
        for streams in steps:
            if not alive or time.monotonic() > ends:
                break
            scenario = Scenario(f"saturation {streams}", streams, words, token_delay)
            step = SaturationStep(streams, streams / token_delay, {})
            step.runs["direct"] = await self.run(scenario, self.direct, None)
            for target, process in self.relays:
                if target.name in alive:
                    step.runs[target.name] = await self.run(scenario, target, process)
                    if not step.sustained(target.name):
                        alive.discard(target.name)
            found.append(step)
        return found
