"""Where the relay's CPU goes: py-spy samples the running server; the busiest frames are counted."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
SITE_PACKAGES = re.compile(r".*/(?:site|dist)-packages/")


@dataclasses.dataclass
class Profile:
    samples: int
    own: list[tuple[str, int]]  # frames where the sample was taken (self time)
    total: list[tuple[str, int]]  # frames anywhere on the stack (inclusive time)


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def sample(pid: int, load: Awaitable[T], rate: int = 250) -> tuple[T, Profile | None]:
    """Run `load` while py-spy samples process `pid`; the profile is None without py-spy."""
    program = py_spy()
    if program is None:
        return await load, None
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "profile.txt"
        spy = await asyncio.create_subprocess_exec(
            program,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(output),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await asyncio.sleep(0.5)  # attached before the load starts
            result = await load
        finally:
            if spy.returncode is None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                _, errors = await asyncio.wait_for(spy.communicate(), 20)
            except TimeoutError:
                spy.kill()
                await spy.wait()
                errors = b""
        if not output.exists():
            print(f"py-spy wrote no profile: {errors.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
            return result, None
        return result, summarize(output.read_text())


def summarize(collapsed: str, top: int = 15) -> Profile:
    """Count self and inclusive samples per function in py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(frame) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    return Profile(samples, own.most_common(top), total.most_common(top * 2))


def _name(frame: str) -> str:
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = SITE_PACKAGES.sub("", match["file"])
    return f"{match['function']} ({path})"
