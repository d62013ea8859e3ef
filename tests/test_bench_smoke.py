"""The benchmark's smoke run, so `python -m bench` cannot rot unnoticed."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
async def test_bench_smoke_runs_and_every_text_is_exact() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench",
        "--smoke",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    out = stdout.decode()
    assert process.returncode == 0, out + stderr.decode()[-2000:]
    assert out.startswith("machine: ")
    for scenario, streams in (("1 stream", 5), ("20 streams", 20)):
        for target in ("direct", "relay", "naive"):
            exact = r"\d+" if target == "naive" else streams  # the yardstick's own mistakes are not ours
            row = rf"^\| {scenario} +\| {target} +\| {exact}/{streams} +\|"
            assert re.search(row, out, re.MULTILINE), (scenario, target, out)
    for phase in ("streaming", "silent"):
        assert re.search(rf"^\| {phase} +\| relay +\| 5/5 +\|.*\| 0 +\|$", out, re.MULTILINE), out
    assert "exactness: all 50 texts exact (direct and relay); 0 upstream streams left running" in out
