"""`python -m bench.history`: what keeping conversations costs the relay. One `server.py` with sign-in
and the built-in simulator answers bursts of 100 signed-in answers, alternately without and with a
`conversation_id` (the second kind each keeps its turn in SQLite: the first round makes the
conversations, later ones append to them); the process's CPU (every thread: aiosqlite's too) per
answer, median of the rounds. About 40 seconds."""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import tempfile
import uuid

import aiohttp

from chat.run.children import environment_without_settings, free_port

from .processes import ROOT, UNLIMITED, cpu_seconds

USER, PASSWORD = "ada", "correct-horse-battery"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
ANSWERS = 100
ROUNDS = 6
WRITES_SETTLE = 0.5  # seconds after a burst for the turns' writes, which follow the answers


async def burst(session: aiohttp.ClientSession, url: str, conversations: list[str] | None) -> None:
    async def one(number: int) -> None:
        body: dict[str, object] = {"messages": [{"role": "user", "content": f"Question {number} about soup"}]}
        if conversations is not None:
            body["conversation_id"] = conversations[number]
        async with session.post(url, json=body, headers=AUTH) as response:
            assert response.status == 200, await response.text()
            await response.read()

    await asyncio.gather(*(one(number) for number in range(ANSWERS)))


async def measure() -> dict[bool, list[float]]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="bench-history-")
    env = {
        **environment_without_settings(),
        **UNLIMITED,
        "CHAT_BASIC_AUTH": f"{USER}:{PASSWORD}",
        "CHAT_DATA_DIR": data,
        "SIMULATOR_TOKEN_DELAY": "0.01",
        "SIMULATOR_FIRST_TOKEN_DELAY": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "server.py"), "--port", str(port), env=env, cwd=data,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    await asyncio.wait_for(process.stdout.readline(), 30)  # it listens
    url = f"http://127.0.0.1:{port}/api/chat"
    found: dict[bool, list[float]] = {False: [], True: []}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await burst(session, url, None)  # warm up
            conversations = [str(uuid.uuid4()) for _ in range(ANSWERS)]
            for _ in range(ROUNDS):
                for kept in (False, True):
                    before = cpu_seconds(process.pid)
                    await burst(session, url, conversations if kept else None)
                    await asyncio.sleep(WRITES_SETTLE)
                    found[kept].append((cpu_seconds(process.pid) - before) / ANSWERS * 1000)
    finally:
        process.terminate()
        await process.wait()
    return found


def main() -> None:
    load = os.getloadavg()
    found = asyncio.run(measure())
    after = os.getloadavg()
    off, on = statistics.median(found[False]), statistics.median(found[True])
    print(f"{ANSWERS} signed-in answers at once, {ROUNDS} rounds each, alternating")
    print(f"history off: {off:.2f} ms of CPU per answer ({', '.join(f'{v:.1f}' for v in found[False])})")
    print(f"history on:  {on:.2f} ms of CPU per answer ({', '.join(f'{v:.1f}' for v in found[True])})")
    print(f"the turn's write: {on - off:+.2f} ms per answer; load average {load[0]:.1f} before, {after[0]:.1f} after")


if __name__ == "__main__":
    main()
