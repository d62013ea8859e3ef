"""`python server.py` as a user runs it: start-up checks, the simulator by default, SIGTERM.

A start-up that stops at a bad setting runs in this process (`start_up`); what needs a real
process (serving, signals, a .env in a fresh working directory) runs as one (`start_server`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chat.simulator import Fault, Simulator

from .processes import start_server
from .sse_client import chat_body, parse_events, text_of
from .typedefs import StartUp

pytestmark = pytest.mark.slow  # servers as their own processes

Processes = list[asyncio.subprocess.Process]  # killed at the end of the test if still running


@pytest.fixture
async def stopper() -> AsyncIterator[Processes]:
    processes: Processes = []
    yield processes
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_API_KEY": "k"},
            "AZURE_OPENAI_DEPLOYMENT",
        ),
        ({"AZURE_OPENAI_ENDPOINT": "not a url"}, "AZURE_OPENAI_ENDPOINT"),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "d"},
            "AZURE_OPENAI_API_KEY",
        ),
        ({"CHAT_READ_TIMEOUT": "soon"}, "CHAT_READ_TIMEOUT"),
        ({"PORT": "99999"}, "PORT"),
    ],
    ids=["no-deployment", "bad-endpoint", "no-key", "bad-number", "bad-port"],
)
def test_bad_setting_stops_start_up_with_one_line(start_up: StartUp, env: dict[str, str], named: str) -> None:
    returncode, stdout, stderr = start_up(**env)
    assert returncode == 2
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and named in lines[0]
    assert stdout == ""


def test_port_flag_out_of_range_is_one_line(start_up: StartUp) -> None:
    returncode, _, stderr = start_up("--port", "99999")
    assert returncode == 2
    assert stderr == "error: PORT (port) must be between 0 and 65535, got 99999\n"


async def test_without_azure_settings_it_chats_on_the_simulator(
    tmp_path: Path, unused_tcp_port: int, stopper: Processes
) -> None:
    process = await start_server(
        unused_tcp_port, cwd=tmp_path, SIMULATOR_TOKEN_DELAY="0", SIMULATOR_FIRST_TOKEN_DELAY="0"
    )
    stopper.append(process)
    async with aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{unused_tcp_port}"
        async with session.get(f"{base}/healthz") as response:
            assert (await response.json())["mode"] == "simulator"
        async with session.post(f"{base}/api/chat", json=chat_body("Ping?")) as response:
            events, _ = parse_events((await response.read()).decode())
    assert text_of(events).startswith("You asked: *Ping?*")
    assert events[-1].name == "done"


async def test_host_from_the_dot_env_file(tmp_path: Path, unused_tcp_port: int, stopper: Processes) -> None:
    (tmp_path / ".env").write_text("HOST=127.0.0.2\nSIMULATOR_FIRST_TOKEN_DELAY=0\n")
    stopper.append(await start_server(unused_tcp_port, cwd=tmp_path, host="127.0.0.2"))
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.2:{unused_tcp_port}/healthz") as response:
            assert response.status == 200


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_stop_signal_ends_open_streams_and_exits(
    tmp_path: Path,
    unused_tcp_port: int,
    upstream: TestServer,
    simulator: Simulator,
    stopper: Processes,
    stop_signal: signal.Signals,
) -> None:
    simulator.script("alpha beta gamma")
    simulator.fail_next(Fault.STALL, after_chunks=1)
    process = await start_server(
        unused_tcp_port,
        cwd=tmp_path,
        AZURE_OPENAI_ENDPOINT=str(upstream.make_url("/")),
        AZURE_OPENAI_API_KEY=simulator.api_key,
        AZURE_OPENAI_DEPLOYMENT="gpt-test",
    )
    stopper.append(process)
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"http://127.0.0.1:{unused_tcp_port}/api/chat", json=chat_body())
        first = await response.content.readuntil(b"\n\n")
        record = simulator.requests[-1]
        process.send_signal(stop_signal)
        rest = await asyncio.wait_for(response.read(), 5)
        await asyncio.wait_for(process.wait(), 5)
    events, _ = parse_events((first + rest).decode())
    assert text_of(events) == "alpha"
    assert events[-1].data["code"] == "server_shutdown"
    assert process.returncode == 0
    await asyncio.wait_for(record.ended.wait(), 1)
    assert record.hung_up
    _, stderr = await process.communicate()
    assert simulator.api_key not in stderr.decode()
    assert 'outcome="server_shutdown"' in stderr.decode()
