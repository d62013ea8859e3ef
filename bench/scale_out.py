"""Scale-out: `python -m bench.scale_out` (about a minute).

gunicorn with 1 and then 2 workers (`chat.run.gunicorn_app:app_runner`, as docs/operations.md runs it), in
front of the simulated upstream in this process, with and without a shared Redis:

- chunks relayed per second at saturation: many concurrent streams with no pause between tokens;
- the latency the Redis checks add to each request (a stream place, the message rate, the quota):
  time to first token of sequential requests, with Redis against without.

Debian's redis-server must be installed (the test command installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from chat.run.children import environment_without_settings, free_port

from .answers import BenchSimulator, question
from .load import Target, stream_chat, stream_many
from .processes import ROOT, UNLIMITED, raise_fd_limit

SATURATION_STREAMS = 200
WORDS = 200
LATENCY_STREAMS = 200


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = await asyncio.create_subprocess_exec(
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            directory,
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            await _until_listening(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            await process.wait()


@contextlib.asynccontextmanager
async def gunicorn(workers: int, upstream: str, api_key: str, redis_url: str | None) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **environment_without_settings(),
        **UNLIMITED,
        "AZURE_OPENAI_ENDPOINT": upstream,
        "AZURE_OPENAI_API_KEY": api_key,
        "AZURE_OPENAI_DEPLOYMENT": "bench",
        "CHAT_TOKENS_PER_DAY": "1000000000",  # a quota to check, never reached
        **({"CHAT_REDIS_URL": redis_url} if redis_url else {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gunicorn",
        "chat.run.gunicorn_app:app_runner",
        "--worker-class",
        "aiohttp.GunicornWebWorker",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _until_listening(port, path="/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


async def _until_listening(port: int, path: str | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # a child process of our own starting up
        try:
            if path is None:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


async def saturation(session: aiohttp.ClientSession, url: str, label: str) -> float:
    """Chunks relayed per second with SATURATION_STREAMS streams at once, every text checked."""
    questions = [question(label, n, WORDS) for n in range(SATURATION_STREAMS)]
    started = time.monotonic()
    results = await stream_many(session, Target(label, url), questions, timeout=120)
    wall = time.monotonic() - started
    if not all(result.exact for result in results):
        raise RuntimeError(f"{label}: {sum(not r.exact for r in results)} texts not exact")
    return SATURATION_STREAMS * WORDS / wall


async def first_token_ms(session: aiohttp.ClientSession, url: str, label: str) -> float:
    """Median time to first token of sequential streams."""
    times = []
    for number in range(LATENCY_STREAMS):
        result = await stream_chat(session, Target(label, url), question(label, number, 3), timeout=10)
        if not result.exact or result.ttft is None:
            raise RuntimeError(f"{label}: stream {number} not exact ({result.error})")
        times.append(result.ttft * 1000)
    return statistics.median(times)


async def run() -> None:
    raise_fd_limit()
    simulator = BenchSimulator()  # no pause between tokens: the relay is what saturates
    runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
        upstream = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session, redis_server() as redis_url:
            rows = []
            for workers in (1, 2):
                for shared in (None, redis_url):
                    label = f"{workers}w{'-redis' if shared else ''}"
                    async with gunicorn(workers, upstream, simulator.api_key, shared) as url:
                        await first_token_ms(session, url, label + "-warm")
                        rows.append(
                            (
                                workers,
                                shared is not None,
                                await saturation(session, url, label),
                                await first_token_ms(session, url, label),
                            )
                        )
    finally:
        await runner.cleanup()
    print(f"gunicorn workers on {os.cpu_count()} cores; the simulated upstream and the load run in one more process")
    print()
    print("| workers | Redis | chunks/s at saturation | time to first token p50 (ms) |")
    print("|---|---|---|---|")
    for workers, redis, chunks, ttft in rows:
        print(f"| {workers} | {'yes' if redis else 'no'} | {chunks:,.0f} | {ttft:.2f} |")
    by = {(w, r): (c, t) for w, r, c, t in rows}
    print()
    print(f"Redis checks add {by[(1, True)][1] - by[(1, False)][1]:+.2f} ms per request (1 worker, p50)")
    print(f"2 workers relay {by[(2, False)][0] / by[(1, False)][0]:.2f}x the chunks of 1 (without Redis)")


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__).parse_args(argv)
    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
