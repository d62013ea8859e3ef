"""Relays under test, each started as its own process on loopback, and what /proc says about them."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from chat.run.children import environment_without_settings, free_port

ROOT = Path(__file__).resolve().parent.parent
READY = b"chat server on http://"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The product's own limits would refuse a benchmark's thousand streams from one address.
UNLIMITED = {
    "CHAT_MAX_STREAMS": "1000000",
    "CHAT_MAX_STREAMS_PER_CLIENT": "1000000",
    "CHAT_REQUESTS_PER_MINUTE": "0",
}


def raise_fd_limit() -> int:
    """As many open files as allowed: 1,000 streams need 3,000 sockets. Children inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cpu_seconds(pid: int | str = "self") -> float:
    """User plus system CPU time of a process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def memory_kib(pid: int | str, field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


class RelayProcess:
    """`python <argv> --port P` with the upstream's settings in its environment; killed on exit (or `stop()`)."""

    def __init__(
        self, name: str, argv: list[str], upstream_url: str, api_key: str, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._argv = [sys.executable, *argv, "--host", "127.0.0.1", "--port", str(self.port)]
        self._env = {
            **environment_without_settings(),
            **UNLIMITED,
            "AZURE_OPENAI_ENDPOINT": upstream_url,
            "AZURE_OPENAI_API_KEY": api_key,
            "AZURE_OPENAI_DEPLOYMENT": "bench",
            **(env or {}),
        }
        self._log = tempfile.TemporaryFile()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def __aenter__(self) -> RelayProcess:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the process and wait until it listens; stop it and raise if it does not."""
        self._process = await asyncio.create_subprocess_exec(
            *self._argv,
            cwd=ROOT,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
        )
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        except TimeoutError:
            line = b""
        if not line.startswith(READY):
            await self.stop()
            raise RuntimeError(f"{self.name} did not start: {line!r}\n{self.log_tail()}")

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        self._log.close()

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return memory_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        return memory_kib(self.pid, "VmHWM")

    def log_tail(self, lines: int = 20) -> str:
        if self._log.closed:
            return ""
        self._log.seek(0)
        return b"\n".join(self._log.read().splitlines()[-lines:]).decode(errors="replace")
