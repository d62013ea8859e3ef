"""The chat server as processes of its own for `bench.scale_out`: `server.py`, or gunicorn's arbiter and
its workers as docs/operations.md runs them; a redis-server beside them; what /proc says of each."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import redis.asyncio as redis

from chat.run.children import environment_without_settings, free_port

from .processes import ROOT, UNLIMITED, cpu_seconds

START_TIMEOUT = 60.0  # seconds: four workers importing the app on two busy cores take about ten
STOP_TIMEOUT = 15.0
QUIET = 0.3  # seconds without a CPU tick: a worker that has booted and waits for requests


SCHEDULER_SUMS = Path("/proc/self/sched").exists()  # kernels built with CONFIG_SCHED_DEBUG


def run_seconds(pid: int) -> float:
    """CPU seconds of a process to the microsecond: the scheduler's own sum over its threads
    (/proc/PID/task/*/sched), where /proc/PID/stat counts ticks of 10 ms, too coarse for one worker's
    share of a short load. A thread that has ended is no longer counted; a worker's threads (the event
    loop, the resolver's pool) live as long as it does. Ticks where the kernel keeps no such sums."""
    if not SCHEDULER_SUMS:
        return cpu_seconds(pid)
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "sched").read_text()
        except FileNotFoundError:  # a thread that ended just now
            continue
        total += next(float(line.split(":")[1]) for line in text.splitlines() if line.startswith("se.sum_exec_runtime"))
    return total / 1000  # milliseconds


def children(pid: int) -> list[int]:
    """The child processes of `pid` (gunicorn's workers), from /proc."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return sorted(int(child) for child in text.split())


class ServerGroup:
    """`server.py` (workers=0) or gunicorn with N aiohttp workers, on a free loopback port, checking
    every limit the product has with Redis (a stream place, the message rate, a quota) but never refusing."""

    def __init__(self, workers: int, upstream: str, api_key: str, redis_url: str | None) -> None:
        self.workers = workers
        self.redis = redis_url is not None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **environment_without_settings(),
            **UNLIMITED,
            "CHAT_REQUESTS_PER_MINUTE": "1000000",  # counted (in Redis when shared), never reached
            "CHAT_TOKENS_PER_DAY": "1000000000",  # a quota to check, never reached
            "AZURE_OPENAI_ENDPOINT": upstream,
            "AZURE_OPENAI_API_KEY": api_key,
            "AZURE_OPENAI_DEPLOYMENT": "bench",
            **({"CHAT_REDIS_URL": redis_url} if redis_url else {}),
        }
        self._log = tempfile.TemporaryFile()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def name(self) -> str:
        processes = "server.py" if not self.workers else f"{self.workers} worker{'s' * (self.workers > 1)}"
        return processes + (" + Redis" if self.redis else "")

    @property
    def label(self) -> str:
        """One word: it goes into the benchmark's questions."""
        return ("server.py" if not self.workers else f"{self.workers}w") + ("-redis" if self.redis else "")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def arbiter_pid(self) -> int | None:
        return self.pid if self.workers else None

    def worker_pids(self) -> list[int]:
        return children(self.pid) if self.workers else [self.pid]

    def _argv(self) -> list[str]:
        if not self.workers:
            return ["server.py", "--host", "127.0.0.1", "--port", str(self.port)]
        return [
            *("-m", "gunicorn", "chat.run.gunicorn_app:app_runner"),
            *("--worker-class", "aiohttp.GunicornWebWorker", "--workers", str(self.workers)),
            *("--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"),
        ]

    async def start(self) -> None:
        """Start, then wait until it answers /healthz and every worker has booted."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self._argv(),
            cwd=ROOT,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._log,
        )
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await self._until_healthy()
                await self._until_workers_quiet()
        except (TimeoutError, OSError) as error:
            await self.stop()
            raise RuntimeError(f"{self.name} did not start ({type(error).__name__}):\n{self.log_tail()}") from None

    async def _until_healthy(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:  # a child process of our own starting up, not an event we could await
                if self._process is not None and self._process.returncode is not None:
                    raise OSError(f"exited with status {self._process.returncode}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)

    async def _until_workers_quiet(self) -> None:
        """Every worker forked and idle: a worker still importing the app would bill its boot to the
        first measured load."""
        while True:
            pids = self.worker_pids()
            before = [cpu_seconds(pid) for pid in pids]
            await asyncio.sleep(QUIET)
            if len(pids) == max(1, self.workers) and pids == self.worker_pids():
                if [cpu_seconds(pid) for pid in pids] == before:
                    return

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()  # gunicorn stops its workers, then itself
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._log.close()

    def log_count(self, text: bytes) -> int:
        """How many lines of its log hold `text`."""
        return sum(text in line for line in self._log_bytes().splitlines())

    def log_tail(self, lines: int = 20) -> str:
        return b"\n".join(self._log_bytes().splitlines()[-lines:]).decode(errors="replace")

    def _log_bytes(self) -> bytes:
        """Read without moving the offset the processes write at (they share it)."""
        if self._log.closed:
            return b""
        descriptor = self._log.fileno()
        return os.pread(descriptor, os.fstat(descriptor).st_size, 0)


@dataclasses.dataclass(frozen=True)
class RedisCounters:
    cpu: float  # redis-server's CPU seconds, from /proc
    calls: dict[str, float]  # by command, those run inside Lua scripts too

    @property
    def commands(self) -> float:
        return sum(self.calls.values())

    @property
    def scripts(self) -> float:
        return self.calls.get("eval", 0) + self.calls.get("evalsha", 0)

    def __sub__(self, earlier: RedisCounters) -> RedisCounters:
        calls = {name: count - earlier.calls.get(name, 0) for name, count in self.calls.items()}
        return RedisCounters(self.cpu - earlier.cpu, {name: count for name, count in calls.items() if count})


class RedisServer:
    """Debian's redis-server on a free loopback port, nothing saved; its counters read between loads."""

    def __init__(self, pid: int, url: str, client: redis.Redis) -> None:
        self.pid = pid
        self.url = url
        self._client = client

    async def counters(self) -> RedisCounters:
        calls: dict[str, float] = {
            name.removeprefix("cmdstat_"): int(stats["calls"])
            for name, stats in (await self._client.info("commandstats")).items()
        }
        calls.pop("info", None)  # our own reading
        return RedisCounters(run_seconds(self.pid), calls)


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[RedisServer]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with tempfile.TemporaryDirectory() as directory:
        process = await asyncio.create_subprocess_exec(
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", directory, "--loglevel", "warning"),
            stdout=asyncio.subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(url)
        try:
            deadline = time.monotonic() + 10
            while True:  # a child process of our own starting up
                try:
                    await client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
                    await asyncio.sleep(0.05)
            yield RedisServer(process.pid, url, client)
        finally:
            await client.aclose()
            process.terminate()
            await process.wait()
