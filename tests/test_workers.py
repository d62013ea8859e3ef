"""Several worker processes under gunicorn keep the production run settings, and their metrics add up."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from chat.simulator import Fault, Simulator
from chat.simulator.answers import answer_for

from .processes import server_environment
from .sse_client import chat_body, parse_events, text_of

pytestmark = pytest.mark.slow  # servers as their own processes


async def _until_ready(url: str, process: asyncio.subprocess.Process) -> None:
    """Gunicorn says nothing when its workers listen: ask, a bounded number of times."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert process.returncode is None, "gunicorn exited"
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("gunicorn did not start in 10 s")


@contextlib.asynccontextmanager
async def _gunicorn(port: int, cwd: Path, log: list[str], *options: str, **env: str) -> AsyncIterator[str]:
    """Two workers against `env`'s upstream, until they stop on SIGTERM; yields the URL. Their log
    is appended to `log` once they have stopped."""
    url = f"http://127.0.0.1:{port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gunicorn",
        *options,
        "chat.run.gunicorn_app:app_runner",
        "--worker-class",
        "aiohttp.GunicornWebWorker",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        env=server_environment(CHAT_REQUESTS_PER_MINUTE="0", CHAT_MAX_STREAMS_PER_CLIENT="100", **env),
        cwd=cwd,  # no .env but the test's
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _until_ready(url, process)
        yield url
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        errors = await asyncio.wait_for(process.stderr.read(), 10)
        await asyncio.wait_for(process.wait(), 10)
        log.append(errors.decode(errors="replace"))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _upstream(upstream: TestServer, simulator: Simulator) -> dict[str, str]:
    return {
        "AZURE_OPENAI_ENDPOINT": str(upstream.make_url("/")),
        "AZURE_OPENAI_API_KEY": simulator.api_key,
        "AZURE_OPENAI_DEPLOYMENT": "gpt-test",
    }


async def test_two_workers_chat_and_cancel_on_disconnect(
    tmp_path: Path, unused_tcp_port: int, upstream: TestServer, simulator: Simulator
) -> None:
    log: list[str] = []
    async with _gunicorn(unused_tcp_port, tmp_path, log, **_upstream(upstream, simulator)) as url:
        async with aiohttp.ClientSession() as session:

            async def ask(number: int) -> None:
                async with session.post(f"{url}/api/chat", json=chat_body(f"worker {number}")) as response:
                    events, _ = parse_events((await response.read()).decode())
                assert text_of(events) == answer_for(f"worker {number}")

            await asyncio.wait_for(asyncio.gather(*(ask(number) for number in range(20))), 20)

            simulator.forget()
            simulator.fail_next(Fault.STALL, after_chunks=0)
            response = await session.post(f"{url}/api/chat", json=chat_body())
            record = await asyncio.wait_for(simulator.next_request(), 5)
            await asyncio.wait_for(record.streaming.wait(), 5)
            response.close()
            await asyncio.wait_for(record.ended.wait(), 2)
            assert record.hung_up
    # Each answer's line, from whichever worker answered it.
    assert log[0].count('chat outcome="completed"') == 20, log[0][-2000:]
    assert 'chat outcome="client_gone"' in log[0]
    assert "aiohttp.access" not in log[0]  # as under server.py: the answer's line is the log


def _completed(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "chat_requests_total" and sample.labels == {"outcome": "completed"}
    )


def _completed_per_worker(directory: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count, from its own file: proof that the scrape added up more than one."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        alone = scratch / path.stem
        alone.mkdir(parents=True)
        shutil.copy(path, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts[path.stem] = sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "chat_requests_total" and sample.labels == {"outcome": "completed"}
        )
    return counts


async def _counted(asked: int, directory: Path, scratch: Path) -> dict[str, float]:
    """Each worker's count once all `asked` are in: a worker counts a chat just after its last byte
    is sent, so ask its files a bounded number of times."""
    for attempt in range(100):
        per_worker = _completed_per_worker(directory, scratch / str(attempt))
        if sum(per_worker.values()) == asked:
            return per_worker
        await asyncio.sleep(0.02)
    raise AssertionError(f"the workers counted {per_worker}, not {asked}")


async def test_two_workers_metrics_add_up(
    tmp_path: Path, unused_tcp_port: int, upstream: TestServer, simulator: Simulator
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"an earlier run's file, removed at start")
    env = {**_upstream(upstream, simulator), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    async with _gunicorn(unused_tcp_port, tmp_path, [], "-c", "python:chat.run.gunicorn_config", **env) as url:
        # A connection each, so that each is another chance for the other worker to accept it.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:

            async def ask() -> None:
                async with session.post(f"{url}/api/chat", json=chat_body()) as response:
                    assert parse_events((await response.read()).decode())[0][-1].name == "done"

            async def scrape() -> str:
                async with session.get(f"{url}/metrics") as response:
                    return await response.text()

            # The connections spread over both workers as the kernel likes: ask until each has answered.
            asked, per_worker = 0, dict[str, float]()
            while len([count for count in per_worker.values() if count]) < 2:
                assert asked < 100, f"one worker answered all: {per_worker}"
                await asyncio.wait_for(asyncio.gather(*(ask() for _ in range(10))), 20)
                asked += 10
                per_worker = await _counted(asked, metrics_dir, tmp_path / f"scratch-{asked}")
            assert len(per_worker) == 2 and sum(per_worker.values()) == asked
            for _ in range(4):  # whichever worker answers the scrape, it adds up both
                assert _completed(await scrape()) == asked
    assert not (metrics_dir / "counter_1.db").exists()
