"""Several worker processes under gunicorn keep the production run settings."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from chat.simulator import Fault, Simulator
from chat.simulator.answers import answer_for

from .processes import server_environment
from .sse_client import chat_body, parse_events, text_of


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


async def test_two_workers_chat_and_cancel_on_disconnect(
    tmp_path: Path, unused_tcp_port: int, upstream: TestServer, simulator: Simulator
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gunicorn",
        "chat.gunicorn_app:app_runner",
        "--worker-class",
        "aiohttp.GunicornWebWorker",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{unused_tcp_port}",
        "--graceful-timeout",
        "5",
        env=server_environment(
            AZURE_OPENAI_ENDPOINT=str(upstream.make_url("/")),
            AZURE_OPENAI_API_KEY=simulator.api_key,
            AZURE_OPENAI_DEPLOYMENT="gpt-test",
            CHAT_REQUESTS_PER_MINUTE="0",
            CHAT_MAX_STREAMS_PER_CLIENT="100",
        ),
        cwd=tmp_path,  # no .env but the test's
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _until_ready(url, process)
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
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
