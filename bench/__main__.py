"""Benchmark the relay and the page: `python -m bench` (about 5 minutes) or `python -m bench --smoke`
(seconds, without the page).

The simulated Azure endpoint runs in this process, so it can time when each upstream stream ends;
the relay (`server.py`) and a naive relay (`bench/naive_relay.py`) run as their own processes on
loopback. The same load goes to the upstream directly too: every figure is compared within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

import aiohttp
from aiohttp import web

from chat import Settings

from . import report
from .answers import BenchSimulator
from .load import Target
from .per_stream import PerStreamPlan, PerStreamRuns, per_stream_text
from .per_stream import measure as measure_per_stream
from .processes import RelayProcess, raise_fd_limit
from .profile import Profile, sample
from .scenarios import AbortPlan, AbortRun, Bench, LoadRun, SaturationStep, Scenario
from .thinking import ThinkingPlan, ThinkingRun, measure_thinking, thinking_text
from .worst_case import MemoryPlan, MemoryRun, measure_memory, memory_text

ONE = Scenario("1 stream", 1, words=10, token_delay=0.01, rounds=60)
HUNDRED = Scenario("100 streams", 100, words=150, token_delay=0.02, rounds=2)
SLOW = Scenario("1,000 slow streams", 1000, words=40, token_delay=0.2, hold=True)
FULL = (ONE, HUNDRED, SLOW)
SMOKE = (
    Scenario("1 stream", 1, words=20, token_delay=0.005, rounds=5),
    Scenario("20 streams", 20, words=40, token_delay=0.01, hold=True),
)
ABORTS = AbortPlan(100)
SMOKE_ABORTS = AbortPlan(5, spread=0.1, settle=0.5)  # the relay closes its upstream within milliseconds
MEMORY = MemoryPlan(100, runs=3)
SMOKE_MEMORY = MemoryPlan(10, runs=1)
SATURATION_BUDGET = 60.0  # seconds
PER_STREAM = PerStreamPlan()
SMOKE_PER_STREAM = PerStreamPlan(streams=20, words=20, rounds=1)
THINKING = ThinkingPlan(10_000)
SMOKE_THINKING = ThinkingPlan(100, wave=100, hold=0.2, warm_up=5)


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def benchmark(smoke: bool, profile: bool, only_per_stream: bool = False) -> int:
    fd_limit = raise_fd_limit()
    scenarios = SMOKE if smoke else FULL
    abort_plan = SMOKE_ABORTS if smoke else ABORTS
    simulator = BenchSimulator(record=True)
    # Handler cancellation as in `chat.run_options`: the upstream notices a caller that hangs up.
    runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None, shutdown_timeout=5)
    await runner.setup()
    runs: list[LoadRun] = []
    per_stream: PerStreamRuns | None = None
    aborts: list[AbortRun] = []
    memory: list[MemoryRun] = []
    memory_plan = SMOKE_MEMORY if smoke else MEMORY
    steps: list[SaturationStep] = []
    spied: Profile | None = None
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        upstream = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with contextlib.AsyncExitStack() as stack:
            relay = RelayProcess("relay", ["server.py"], upstream + "/", simulator.api_key)
            naive = RelayProcess("naive", ["-m", "bench.naive_relay"], upstream + "/", simulator.api_key)
            byte_copy = RelayProcess("byte-copy", ["-m", "bench.byte_copy"], upstream + "/", simulator.api_key)
            for child in (relay, naive, byte_copy):
                stack.push_async_callback(child.stop)
            async with asyncio.TaskGroup() as starting:  # about a second each: side by side
                for child in (relay, naive, byte_copy):
                    starting.create_task(child.start())
            session = await stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
                )
            )
            bench = Bench(
                simulator,
                session,
                Target("direct", upstream, direct=True, api_key=simulator.api_key),
                [(Target("relay", relay.url), relay), (Target("naive", naive.url), naive)],
            )
            progress(f"upstream {upstream}, relay pid {relay.pid}, naive relay pid {naive.pid}, fd limit {fd_limit}")
            await bench.warm_up()
            byte_copy_target = Target("byte-copy", byte_copy.url, direct=True, api_key=simulator.api_key)
            await bench.warm_up_one(byte_copy_target)
            progress("per stream: CPU and the burst start, byte-copy / relay / naive, alternating")
            per_stream = await measure_per_stream(
                bench,
                [
                    (byte_copy_target, byte_copy),
                    *bench.relays,
                    (Target("relay-resumable", relay.url, resumable=True), relay),
                ],
                SMOKE_PER_STREAM if smoke else PER_STREAM,
            )
            if only_per_stream:
                print(per_stream_text(per_stream))
                return 0
            for scenario in scenarios:
                for target, process in bench.targets:
                    progress(f"{scenario.name} -> {target.name}")
                    runs.append(await bench.run(scenario, target, process))
                if profile and scenario is HUNDRED:
                    progress(f"{scenario.name} -> relay, under py-spy (not counted above)")
                    _, spied = await sample(relay.pid, bench.run(scenario, bench.relays[0][0], relay))
            if not smoke:
                progress("saturation: stepping the offered load up")
                steps = await bench.saturate(SATURATION_BUDGET)
            for phase in ("streaming", "silent"):
                for target, _ in bench.targets:
                    progress(f"client aborts, {phase} upstream -> {target.name}")
                    aborts.append(await bench.abort(phase, target, abort_plan))
            progress(f"worst-case memory: {memory_plan.streams} streams held open, in {memory_plan.runs} fresh relays")
            memory = await measure_memory(simulator, session, upstream + "/", memory_plan)
    finally:
        await runner.cleanup()
    thought = await thinking(smoke)  # with the other relays stopped: its own simulator and relay
    page_figures, page_goals = await page(smoke)

    print(report.machine())
    print()
    print(report.load_table(runs))
    print()
    if per_stream is not None:
        print(per_stream_text(per_stream))
    print()
    print("client aborts: upstream stream end (at the simulator) minus the client's close")
    print()
    print(report.abort_table(aborts))
    print()
    print(memory_text(memory_plan, memory, Settings().max_streams))
    if steps:
        print()
        print(report.saturation_table(steps))
    if profile and not smoke:
        print()
        print(report.profile_text(spied))
    print()
    print(thinking_text(thought))
    if page_figures:
        print()
        print(page_figures)
    print()
    print(report.verdicts(runs, aborts, steps, HUNDRED.name, ONE.name, SLOW.name))
    print(report.thinking_verdicts(thought))
    for goal in page_goals:
        print(goal)
    status = _exactness(runs, aborts)
    if not thought.sound:
        print(f"thinking streams: FAILED: answers other than 200 and 503 server_busy: {dict(thought.other)}")
        return 1
    return status


async def page(smoke: bool) -> tuple[str, list[str]]:
    """The page's figures and goals (full run only): Chromium against its own app and simulator."""
    if smoke:
        return "", []
    from .page import measure_page, page_text, page_verdicts  # Playwright: the full run only

    progress("the page: its first load, cold and warm, and a long answer drawn as it streams")
    run = await measure_page()
    return page_text(run), [("ok " if met else "MISS ") + goal for met, goal in page_verdicts(run)]


async def thinking(smoke: bool) -> ThinkingRun:
    plan = SMOKE_THINKING if smoke else THINKING
    progress(f"thinking streams: {plan.streams:,} reasoning answers thinking in silence, held open in one relay")
    return await measure_thinking(plan)


async def thinking_only(smoke: bool) -> int:
    raise_fd_limit()
    run = await thinking(smoke)
    print(report.machine())
    print()
    print(thinking_text(run))
    print()
    print(report.thinking_verdicts(run))
    return 0 if run.sound else 1


def _exactness(runs: list[LoadRun], aborts: list[AbortRun]) -> int:
    """The exit status: every text through the relay exact, and no upstream left running by it."""
    checked = [run for run in runs if run.target in ("direct", "relay")]
    streams = sum(len(run.results) for run in checked)
    exact = sum(run.exact for run in checked)
    left = sum(abort.still_running for abort in aborts if abort.target in ("direct", "relay"))
    naive = [run for run in runs if run.target == "naive"]
    print(f"naive relay: {sum(r.exact for r in naive)}/{sum(len(r.results) for r in naive)} texts exact")
    if exact == streams and left == 0:
        print(f"exactness: all {streams} texts exact (direct and relay); 0 upstream streams left running")
        return 0
    print(f"exactness: FAILED: {exact}/{streams} texts exact; {left} upstream streams left running")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="1 and 20 streams, no saturation: seconds")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the py-spy profile of the 100-stream run"
    )
    parser.add_argument(
        "--per-stream", action="store_true", help="only CPU per stream and the burst start (about 30 s)"
    )
    parser.add_argument(
        "--thinking",
        action="store_true",
        help="only 10,000 thinking streams held open in one relay (about a minute; with --smoke, 100)",
    )
    args = parser.parse_args(argv)
    if args.thinking:
        return asyncio.run(thinking_only(args.smoke))
    return asyncio.run(benchmark(args.smoke, args.profile, args.per_stream))


if __name__ == "__main__":
    sys.exit(main())
