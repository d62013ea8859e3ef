"""The simulated upstream as a process of its own: `python -m bench.simulator_process --port P`.

Thousands of held streams need a descriptor each at the upstream too; in a process of its own the
simulator's descriptors do not count against the load generator's limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiohttp import web

from chat.run.children import free_port

from .answers import BenchSimulator
from .processes import ROOT, raise_fd_limit

READY = "simulator on http://"


async def serve(port: int, profile: str, thinking_time: float) -> None:
    simulator = BenchSimulator(profile=profile, thinking_time=thinking_time)
    runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None, shutdown_timeout=1)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        print(f"{READY}127.0.0.1:{runner.addresses[0][1]}/", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


class SimulatorProcess:
    """`python -m bench.simulator_process` on a free loopback port; killed by `stop()`."""

    def __init__(self, profile: str, thinking_time: float) -> None:
        self.port = free_port()  # known before it starts, so that a relay may start beside it
        self._argv = [
            sys.executable, "-m", "bench.simulator_process", "--port", str(self.port),
            "--profile", profile, "--thinking-time", str(thinking_time),
        ]  # fmt: skip
        self._process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}/"
        self.api_key = BenchSimulator().api_key

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self._argv, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        assert self._process.stdout is not None
        try:
            line = (await asyncio.wait_for(self._process.stdout.readline(), 30)).decode()
        except TimeoutError:
            line = ""
        if not line.startswith(READY):
            await self.stop()
            raise RuntimeError(f"the simulator did not start: {line!r}")

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulator_process", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--profile", default="reasoning", help="the model every deployment imitates")
    parser.add_argument("--thinking-time", type=float, default=0.0, help="seconds a reasoning model thinks silently")
    args = parser.parse_args(argv)
    raise_fd_limit()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.profile, args.thinking_time))
    return 0


if __name__ == "__main__":
    sys.exit(main())
