"""Resumable answers: what one open answer costs the server, and how soon a reader that comes back
gets the first event it missed. `python -m bench.resumable` (about 30 s here).

Memory: a relay process holds 1,000 resumable answers of a reasoning model that thinks (the upstream
open and silent), each left by its reader after the `answer` event, so each waits in its resume
window; the RSS it grew by, per answer, beside 1,000 ordinary streams with their readers.
Resume gap: an answer of 400 tokens at 5 ms, its reader dropped after three events, then
`GET /api/answers/{id}` with `Last-Event-ID`: from the request to the first missed event.
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import time

import aiohttp
from aiohttp import web

from chat import Settings, create_app
from chat.simulator import Simulator

from .processes import RelayProcess, raise_fd_limit
from .simulator_process import SimulatorProcess

ANSWERS = 1000
BODY = {"messages": [{"role": "user", "content": "Hello"}]}
GAP_TRIES = 30


async def open_answers(relay: RelayProcess, session: aiohttp.ClientSession, resumable: bool) -> list[object]:
    """ANSWERS answers begun (each past its first event), 50 at a time; the readers of resumable ones leave."""
    held: list[object] = []

    async def one() -> None:
        response = await session.post(f"{relay.url}/api/chat", json=BODY | ({"resumable": True} if resumable else {}))
        assert response.status == 200, await response.text()
        if resumable:
            await response.content.readuntil(b"\n\n")  # `answer`: from now on it waits for a reader
            response.close()
        else:
            held.append(response)  # the model thinks; the reader stays

    for start in range(0, ANSWERS, 50):
        await asyncio.gather(*(one() for _ in range(start, min(start + 50, ANSWERS))))
    return held


async def memory_per_answer(resumable: bool) -> float:
    upstream = SimulatorProcess("reasoning", thinking_time=600)
    await upstream.start()
    env = {"CHAT_RESUME_WINDOW": "600", "CHAT_FIRST_TOKEN_TIMEOUT": "600", "CHAT_PING_INTERVAL": "60"}
    try:
        async with RelayProcess("relay", ["server.py"], upstream.url, upstream.api_key, env) as relay:
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:
                await (await session.post(f"{relay.url}/api/chat", json=BODY | {"max_completion_tokens": 1})).release()
                before = relay.rss_kib()
                held = await open_answers(relay, session, resumable)
                await asyncio.sleep(1)  # the last requests settle
                after = relay.rss_kib()
                for response in held:
                    response.close()  # type: ignore[attr-defined]
            return (after - before) / ANSWERS
    finally:
        await upstream.stop()


async def resume_gaps() -> list[float]:
    simulator = Simulator(token_delay=0.005)
    async with simulator.serving() as url:
        settings = Settings(
            backend="azure", endpoint=url, api_key=simulator.api_key, deployments=("bench",),
            requests_per_minute=0, max_streams_per_client=1000,
        )  # fmt: skip
        runner = web.AppRunner(create_app(settings), handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        gaps = []
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(GAP_TRIES):
                    simulator.script(" ".join(f"w{n}" for n in range(400)))
                    response = await session.post(f"{base}/api/chat", json=BODY | {"resumable": True})
                    first = json.loads((await response.content.readuntil(b"\n\n")).split(b"data: ")[1])
                    for _ in range(3):
                        await response.content.readuntil(b"\n\n")
                    response.close()
                    await asyncio.sleep(0.05)  # events the reader misses meanwhile
                    started = time.perf_counter()
                    headers = {"X-Answer-Secret": first["secret"], "Last-Event-ID": "3"}
                    async with session.get(f"{base}/api/answers/{first['id']}", headers=headers) as again:
                        frame = await again.content.readuntil(b"\n\n")
                        gaps.append(time.perf_counter() - started)
                        assert frame.startswith(b"id: 4\n"), frame
                    await session.post(f"{base}/api/answers/{first['id']}/stop", headers=headers)
        finally:
            await runner.cleanup()
        return gaps


async def main() -> None:
    raise_fd_limit()
    gc.collect()
    streams = await memory_per_answer(resumable=False)
    answers = await memory_per_answer(resumable=True)
    gaps = await resume_gaps()
    print(f"RSS per open stream with its reader (thinking): {streams:.1f} KiB")
    print(f"RSS per open resumable answer without a reader (thinking, in its window): {answers:.1f} KiB")
    p95 = statistics.quantiles(gaps, n=20)[-1]
    print(f"resume gap, one process: median {statistics.median(gaps) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
