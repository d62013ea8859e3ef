"""Failover cost: `python -m bench.failover` (about 20 s).

Time to first token through the relay with two endpoints whose first is throttled, against the
relay with the healthy endpoint alone, in one run. Two cases of throttling: a long Retry-After
(the endpoint is benched and skipped) and a 1 ms one (every request asks it first, is refused, and
fails over at once: the worst case).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys

import aiohttp
from aiohttp import web

from chat.simulator import Fault

from .answers import BenchSimulator, question
from .load import Target, stream_chat
from .processes import RelayProcess
from .scenarios import percentile

STREAMS = 200
THROTTLES = {"benched (Retry-After 30 s)": 30_000, "refused every time (Retry-After 1 ms)": 1}


async def _serve(simulator: BenchSimulator, stack: contextlib.AsyncExitStack) -> str:
    runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}/"


async def _ttfts(session: aiohttp.ClientSession, target: Target, streams: int) -> list[float]:
    ttfts = []
    for number in range(streams):
        result = await stream_chat(session, target, question("failover", number, 5), timeout=10)
        if not result.exact or result.ttft is None:
            raise RuntimeError(f"{target.name}: stream {number} not exact ({result.error})")
        ttfts.append(result.ttft * 1000)
    return ttfts


async def run(streams: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        throttled, healthy = BenchSimulator(), BenchSimulator()
        throttled_url, healthy_url = await _serve(throttled, stack), await _serve(healthy, stack)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        alone = await stack.enter_async_context(RelayProcess("alone", ["server.py"], healthy_url, healthy.api_key))
        rows = [("healthy endpoint alone", await _ttfts(session, Target("alone", alone.url), streams))]
        for label, retry_after_ms in THROTTLES.items():
            throttled.fail_next(Fault.RATE_LIMITED, retry_after_ms=retry_after_ms, times=streams * 2)
            pair = await stack.enter_async_context(
                RelayProcess("pair", ["server.py"], f"{throttled_url},{healthy_url}", healthy.api_key)
            )
            rows.append((f"first of two throttled, {label}", await _ttfts(session, Target("pair", pair.url), streams)))
            throttled.forget()
    baseline = statistics.median(rows[0][1])
    print(f"time to first token through the relay, {streams} sequential streams each, milliseconds")
    print()
    print("| case | p50 | p95 | added p50 |")
    print("|---|---|---|---|")
    for label, values in rows:
        p50, p95 = statistics.median(values), percentile(values, 0.95) or 0.0
        print(f"| {label} | {p50:.2f} | {p95:.2f} | {p50 - baseline:+.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    parser.add_argument("--streams", type=int, default=STREAMS)
    args = parser.parse_args(argv)
    asyncio.run(run(args.streams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
