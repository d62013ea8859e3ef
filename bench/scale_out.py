"""Scale-out: `python -m bench.scale_out` (about three minutes; `--smoke`: about 20 seconds).

What one stream costs the server's processes, read from /proc, under gunicorn with 1, 2 and 4 workers
(`chat.run.gunicorn_app:app_runner`, as docs/operations.md runs it), with and without a shared Redis,
against `server.py` (one process) in the same run:

- CPU per stream: the CPU seconds of every worker over a fixed load, divided by its streams; the
  arbiter's and redis-server's apart. The load: 100 streams asked at once, 100 tokens each at 50 a
  second (`scale_out_runs.FULL` says why not `python -m bench --per-stream`'s), and the same with 20
  tokens, which splits a stream's cost into a part per request and a part per token;
- Redis: the commands each stream costs (INFO commandstats) and the time they add to the first token
  of requests sent one at a time;
- memory: RSS per worker, warmed up and idle, and per open stream in the first load.

The load generator and the simulated upstream run in this process, on the same cores as the workers:
how many streams a second this machine carries says more about them than about the workers, so
throughput is not measured here. CPU and memory per stream are: they are what transfers to a bigger
machine (docs/operations.md, "Capacity"). Each set-up gets every load in turn, for alternating
rounds; each figure is the median over its rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from chat.simulator import Fault

from .answers import BenchSimulator, question
from .load import StreamResult, Target, stream_chat, stream_many
from .per_stream import PerStreamPlan
from .processes import memory_kib, raise_fd_limit
from .scale_out_report import report
from .scale_out_runs import FULL, SMOKE, Held, Sample, ScaleOutPlan, SetUpRuns
from .scenarios import Bench, Scenario, percentile
from .server_group import RedisServer, ServerGroup, redis_server, run_seconds

WARM_UP_STREAMS = 4  # per worker, at once
WARM_UP_ROUNDS = 3


class MostOpen:
    """The workers' RSS at the moment most upstream streams were open at once, sampled as the load runs."""

    def __init__(self, simulator: BenchSimulator, pids: list[int]) -> None:
        self._simulator = simulator
        self._pids = pids
        self.streams = 0
        self.rss_kib: int | None = None

    async def watch(self) -> None:
        while True:  # until cancelled
            now = self._simulator.open_requests
            if now and now >= self.streams:
                self.streams, self.rss_kib = now, rss_kib(self._pids)
            await asyncio.sleep(0.05)


def rss_kib(pids: list[int]) -> int:
    return sum(memory_kib(pid, "VmRSS") for pid in pids)


def _stream_time(results: list[StreamResult]) -> float | None:
    return percentile([r.text_reads[-1] - r.started for r in results if r.text_reads], 0.5)


async def load(bench: Bench, runs: SetUpRuns, redis: RedisServer, scenario: Scenario) -> Sample:
    group = runs.group
    pids = group.worker_pids()
    arbiter = group.arbiter_pid
    cpu_before = [run_seconds(pid) for pid in pids]
    arbiter_before = run_seconds(arbiter) if arbiter else 0.0
    redis_before = await redis.counters() if group.redis else None
    idle = rss_kib(pids)
    most = MostOpen(bench.simulator, pids)
    watching = asyncio.create_task(most.watch())
    try:
        run = await bench.run(scenario, runs.target, None)
    finally:
        watching.cancel()
    if group.worker_pids() != pids:
        raise RuntimeError(f"{group.name}: a worker was replaced during the load:\n{group.log_tail()}")
    return Sample(
        streams=len(run.results),
        exact=run.exact,
        worker_cpu=tuple(run_seconds(pid) - before for pid, before in zip(pids, cpu_before)),
        arbiter_cpu=run_seconds(arbiter) - arbiter_before if arbiter else None,
        redis=await redis.counters() - redis_before if redis_before is not None else None,
        idle_rss_kib=idle,
        open_rss_kib=most.rss_kib,
        open_streams=most.streams,
        stream_time=_stream_time(run.results),
    )


async def warm_up(bench: Bench, runs: SetUpRuns, plan: PerStreamPlan) -> None:
    """A few streams per worker, a few times: every worker has served (the SDK client made, the
    connections to the upstream open), so that the first load is measured warm. Few, so that the
    first load's RSS still shows what its streams hold, not a heap grown by the warm-up."""
    streams = WARM_UP_STREAMS * max(1, runs.group.workers)
    for number in range(WARM_UP_ROUNDS):
        await bench.run(Scenario(f"warm-up {number}", streams, 20, plan.token_delay), runs.target, None)
    runs.idle_worker_rss_kib = rss_kib(runs.group.worker_pids()) / max(1, runs.group.workers)


async def hold(bench: Bench, runs: SetUpRuns, redis: RedisServer, plan: ScaleOutPlan) -> Held:
    """`plan.held` streams whose upstream sends its headers and then nothing, measured while all are
    open: the lease renewals in Redis and the workers' timers, per open stream and second."""
    simulator, pids = bench.simulator, runs.group.worker_pids()
    simulator.fail_next(Fault.STALL, after_chunks=0, times=plan.held)
    questions = [question(f"held-{runs.target.name}", number, 3) for number in range(plan.held)]
    holding = asyncio.create_task(stream_many(bench.session, runs.target, questions, plan.hold_seconds + 60))
    try:
        async with asyncio.timeout(30):
            while simulator.open_requests < plan.held:  # the simulator counts; it signals nothing
                await asyncio.sleep(0.05)
        cpu, counters = sum(run_seconds(pid) for pid in pids), await redis.counters()
        await asyncio.sleep(plan.hold_seconds)  # the span measured, not a wait for an event
        cpu, counters = sum(run_seconds(pid) for pid in pids) - cpu, await redis.counters() - counters
    finally:
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
    async with asyncio.timeout(10):
        while simulator.open_requests:  # every upstream closed by the relay before the next load
            await asyncio.sleep(0.05)
    return Held(plan.held, plan.hold_seconds, cpu, counters)


async def first_tokens_ms(session: aiohttp.ClientSession, runs: SetUpRuns, count: int, round_number: int) -> int:
    """Requests one at a time (the Redis checks' latency, not a queue's): appends each TTFT; returns
    how many were not exact."""
    wrong = 0
    for number in range(count):
        label = f"ttft-{runs.target.name}-{round_number}"
        result = await stream_chat(session, runs.target, question(label, number, 3), timeout=10)
        if result.exact and result.ttft is not None:
            runs.first_tokens_ms.append(result.ttft * 1000)
        else:
            wrong += 1
    return wrong


async def measure(plan: ScaleOutPlan) -> tuple[list[SetUpRuns], int]:
    """Every set-up started side by side, then the loads in alternating rounds; and the texts not exact."""
    raise_fd_limit()
    simulator = BenchSimulator()  # records nothing: its open requests are counted all the same
    runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None, shutdown_timeout=5)
    await runner.setup()
    per = plan.load
    long = Scenario(f"{per.streams}x{per.words}", per.streams, per.words, per.token_delay)
    short = Scenario(f"{per.streams}x{plan.short_words}", per.streams, plan.short_words, per.token_delay)
    wrong = 0
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
        upstream = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        async with contextlib.AsyncExitStack() as stack:
            redis = await stack.enter_async_context(redis_server())
            groups = [ServerGroup(0, upstream, simulator.api_key, None)] + [
                ServerGroup(workers, upstream, simulator.api_key, shared)
                for workers in plan.workers
                for shared in (None, redis.url)
            ]
            stack.push_async_callback(_stop_all, groups)
            progress(f"starting {', '.join(group.name for group in groups)}")
            async with asyncio.TaskGroup() as starting:  # a few seconds each: side by side
                for group in groups:
                    starting.create_task(group.start())
            session = await stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
                )
            )
            bench = Bench(simulator, session, Target("direct", upstream, direct=True, api_key=simulator.api_key), [])
            found = [SetUpRuns(group) for group in groups]
            for runs in found:
                await warm_up(bench, runs, per)
            for round_number in range(per.rounds):
                progress(f"round {round_number + 1} of {per.rounds}")
                for runs in found:
                    runs.long.append(await load(bench, runs, redis, long))
                    runs.short.append(await load(bench, runs, redis, short))
                    wrong += await first_tokens_ms(session, runs, plan.sequential, round_number)
            widest = next(runs for runs in found if runs.group.workers == max(plan.workers) and runs.group.redis)
            progress(f"{plan.held} silent streams held {plan.hold_seconds:.0f} s on {widest.group.name}")
            widest.held = await hold(bench, widest, redis, plan)
            for runs in found:
                runs.redis_fallbacks = runs.group.log_count(b"chat redis-unreachable")
    finally:
        await runner.cleanup()
    wrong += sum(sample.streams - sample.exact for runs in found for sample in runs.samples())
    return found, wrong


async def _stop_all(groups: list[ServerGroup]) -> None:
    await asyncio.gather(*(group.stop() for group in groups))


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(plan: ScaleOutPlan) -> int:
    before = _load_average()
    found, wrong = await measure(plan)
    print(report(plan, found, before, _load_average()))
    if wrong:
        print(f"exactness: FAILED: {wrong} texts not exact")
        return 1
    print("exactness: every text exact")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="20 streams, 2 workers, one round: seconds")
    args = parser.parse_args(argv)
    return asyncio.run(run(SMOKE if args.smoke else FULL))


if __name__ == "__main__":
    sys.exit(main())
