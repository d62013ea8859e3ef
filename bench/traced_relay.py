"""`server.py` under tracemalloc: `python -m bench.traced_relay --port P`, as `bench.stream_memory` runs it.

The first SIGUSR1 starts tracing (from start-up on, tracing thirty frames would take a minute); each
one writes a snapshot of the allocations traced and still live (after a full collection) to the next
of `$BENCH_SNAPSHOT.0`, `.1`, ... and then creates `$BENCH_SNAPSHOT.N.done`.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 16  # deep enough to reach our own code from inside aiohttp and asyncio; deeper is much slower


def main() -> int:
    base = os.environ["BENCH_SNAPSHOT"]
    numbers = itertools.count()

    def dump(signum: int, frame: FrameType | None) -> None:
        path = Path(f"{base}.{next(numbers)}")
        if not tracemalloc.is_tracing():
            tracemalloc.start(FRAMES)
        gc.collect()
        tracemalloc.take_snapshot().dump(str(path))
        path.with_name(path.name + ".done").touch()

    signal.signal(signal.SIGUSR1, dump)
    from chat.run.cli import main as serve

    return serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
