"""Servers as their own processes, started from an environment that holds none of the shell's settings."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import IO

from chat.run.children import environment_without_settings

SERVER = Path(__file__).resolve().parent.parent / "server.py"


def server_environment(**env: str) -> dict[str, str]:
    """The environment for a server process: only `env` among the variables a server reads."""
    return {**environment_without_settings(), **env}


async def start_server(port: int, *, cwd: Path, host: str = "127.0.0.1", **env: str) -> asyncio.subprocess.Process:
    """`python server.py --port PORT` in `cwd` (which may hold a .env), once it says it listens."""
    return await _started(port, host, cwd, asyncio.subprocess.PIPE, env)


async def start_logged_server(port: int, log: Path, **env: str) -> asyncio.subprocess.Process:
    """`python server.py --port PORT` writing its log to `log` (a long run would fill a pipe nobody reads)."""
    with log.open("wb") as stderr:
        return await _started(port, "127.0.0.1", log.parent, stderr, env)


async def _started(
    port: int, host: str, cwd: Path, stderr: int | IO[bytes], env: dict[str, str]
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        "--port",
        str(port),
        env=server_environment(**env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)  # a busy machine imports slowly
        assert line.startswith(f"chat server on http://{host}:{port}/".encode()), line
    except BaseException:  # not handed to the test, so nobody else would stop it
        process.kill()
        await process.wait()
        raise
    return process
