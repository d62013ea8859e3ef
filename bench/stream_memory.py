"""Where the bytes of an open thinking stream go: `python -m bench.stream_memory [--streams N]`.

The relay runs under tracemalloc (`bench.traced_relay`), tracing from the moment N thinking streams
are open; a snapshot is taken then and another with 2N open, and their difference, divided by N, is
what one more open stream keeps:
grouped by the line that allocated it, and by the whole traceback. The RSS at both points is printed
too, though tracemalloc's own bookkeeping swells it: `python -m bench --thinking` measures RSS alone.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import linecache
import os
import signal
import sys
import tempfile
import tracemalloc
from pathlib import Path

import aiohttp

from .processes import ROOT, RelayProcess, raise_fd_limit
from .simulator_process import SimulatorProcess
from .thinking import THINKING_TIME, StreamHolder, ThinkingPlan, ThinkingRun

WAVE = 50  # streams opened at once: under tracemalloc the relay is several times slower
SITE_PACKAGES = Path(aiohttp.__file__).parent.parent
ASYNCIO = str(Path(asyncio.__file__).parent)
IGNORED = (tracemalloc.__file__, linecache.__file__, "<frozen importlib._bootstrap>", "<unknown>")


async def snapshot(pid: int, base: Path, number: int) -> tracemalloc.Snapshot:
    done = Path(f"{base}.{number}.done")
    os.kill(pid, signal.SIGUSR1)
    for _ in range(1200):  # a minute at most: thousands of streams take seconds to walk
        if await asyncio.to_thread(done.exists):
            break
        await asyncio.sleep(0.05)
    else:
        raise TimeoutError("the relay wrote no snapshot")
    return tracemalloc.Snapshot.load(f"{base}.{number}").filter_traces(
        [tracemalloc.Filter(False, name) for name in IGNORED]
    )


def where(frame: tracemalloc.Frame) -> str:
    path = Path(frame.filename)
    for root in (SITE_PACKAGES, ROOT, Path(ASYNCIO).parent):
        if path.is_relative_to(root):
            return f"{path.relative_to(root)}:{frame.lineno}"
    return f"{frame.filename}:{frame.lineno}"


def report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, streams: int, top: int) -> str:
    lines = []
    by_line = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in by_line)
    count = sum(stat.count_diff for stat in by_line)
    lines.append(
        f"per open stream: {total / streams:,.0f} bytes in {count / streams:,.1f} blocks (Python allocations, "
        f"tracemalloc, {streams:,} streams more)"
    )
    lines.append("")
    lines.append("by line (bytes per stream, blocks per stream):")
    for stat in by_line[:top]:
        frame = stat.traceback[0]
        source = linecache.getline(frame.filename, frame.lineno).strip()[:70]
        lines.append(f"{stat.size_diff / streams:8,.0f} {stat.count_diff / streams:6.1f}  {where(frame)}  {source}")
    lines.append("")
    lines.append("by traceback, for the top lines: the callers of each (innermost first, without asyncio's frames):")
    tracebacks = after.compare_to(before, "traceback")
    for stat in by_line[: top // 2]:
        line = stat.traceback[0]
        lines.append(f"{stat.size_diff / streams:8,.0f}  {where(line)}")
        callers = [t for t in tracebacks if t.traceback[-1] == line][:3]
        for caller in callers:
            frames = [where(f) for f in reversed(caller.traceback) if not f.filename.startswith(ASYNCIO)]
            lines.append(f"{caller.size_diff / streams:14,.0f}  " + " < ".join(frames[1:6]))
    lines.append("")
    lines.append("by file (bytes per stream):")
    files: collections.Counter[str] = collections.Counter()
    for stat in after.compare_to(before, "filename"):
        files[where(stat.traceback[0]).rsplit(":", 1)[0]] += stat.size_diff
    for name, size in files.most_common(top):
        lines.append(f"{size / streams:8,.0f}  {name}")
    return "\n".join(lines)


async def open_in_waves(holder: StreamHolder, first: int, count: int) -> None:
    for start in range(first, first + count, WAVE):
        await holder.open(start, min(WAVE, first + count - start))


async def measure(streams: int, top: int) -> str:
    simulator = SimulatorProcess("reasoning", THINKING_TIME)
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory) / "snapshot"
        env = {"BENCH_SNAPSHOT": str(base)}
        relay = RelayProcess("traced relay", ["-m", "bench.traced_relay"], simulator.url, simulator.api_key, env)
        try:
            async with asyncio.TaskGroup() as starting:
                starting.create_task(simulator.start())
                starting.create_task(relay.start())
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
            ) as session:
                run = ThinkingRun(ThinkingPlan(2 * streams), 0, 2 * streams)
                holder = StreamHolder(session, relay.url, run)
                await open_in_waves(holder, 0, streams)
                await asyncio.sleep(1)  # past the first pings' timers
                first_rss = relay.rss_kib()
                before = await snapshot(relay.pid, base, 0)
                await open_in_waves(holder, streams, streams)
                await asyncio.sleep(1)
                second_rss = relay.rss_kib()
                after = await snapshot(relay.pid, base, 1)
                await holder.close()
                if run.opened != 2 * streams:
                    raise RuntimeError(f"only {run.opened} of {2 * streams} streams opened: {dict(run.other)}")
        finally:
            await relay.stop()
            await simulator.stop()
    per_stream = (second_rss - first_rss) / streams
    rss = f"RSS under tracemalloc: {per_stream:,.1f} KiB per stream from {streams:,} to {2 * streams:,}"
    return report(before, after, streams, top) + "\n\n" + rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stream_memory", description=__doc__)
    parser.add_argument("--streams", type=int, default=1000, help="N: the first snapshot at N open, the second at 2N")
    parser.add_argument("--top", type=int, default=30, help="rows per table")
    args = parser.parse_args(argv)
    raise_fd_limit()
    print(asyncio.run(measure(args.streams, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
