"""What `bench.scale_out` plans and what it found: each load on each set-up, and the medians over rounds."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable

from .load import Target
from .per_stream import PerStreamPlan
from .server_group import RedisCounters, ServerGroup


@dataclasses.dataclass(frozen=True)
class ScaleOutPlan:
    load: PerStreamPlan = dataclasses.field(default_factory=PerStreamPlan)  # streams, words, pace, rounds
    short_words: int = 20  # the second load: what a stream costs besides its tokens
    workers: tuple[int, ...] = (1, 2, 4)
    sequential: int = 50  # requests one at a time per round, for the time to first token
    held: int = 100  # silent streams held open on the widest Redis set-up: what an open stream costs
    hold_seconds: float = 10.0  # three lease renewals at the default CHAT_STREAM_LEASE_SECONDS


# 50 tokens a second, a chat model's pace, and few enough streams that these two shared cores keep
# that pace: a worker that falls behind reads several chunks at once and spends less per token than
# one with room to spare, as it has on a machine sized for its load. (`python -m bench --per-stream`'s
# 200 streams of a token every 10 ms took 5 to 10 times their pace here, 1 to 4 workers beside the load
# generator, and showed a per-token cost that grew with the number of workers, from 60 to 115 µs.)
FULL = ScaleOutPlan(PerStreamPlan(streams=100, words=100, token_delay=0.02))
SMOKE = ScaleOutPlan(
    PerStreamPlan(streams=20, words=20, rounds=1), short_words=5, workers=(2,), sequential=5, held=20, hold_seconds=4
)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One load on one set-up: what /proc and Redis said of it."""

    streams: int
    exact: int
    worker_cpu: tuple[float, ...]  # CPU seconds, each worker
    arbiter_cpu: float | None
    redis: RedisCounters | None
    idle_rss_kib: int  # all workers, just before the load
    open_rss_kib: int | None  # all workers, when most upstream streams were open
    open_streams: int
    stream_time: float | None  # p50 seconds from asking to the last text

    @property
    def cpu_ms(self) -> float:
        return sum(self.worker_cpu) / self.streams * 1000

    @property
    def arbiter_ms(self) -> float | None:
        return None if self.arbiter_cpu is None else self.arbiter_cpu / self.streams * 1000

    @property
    def busiest_share(self) -> float | None:
        total = sum(self.worker_cpu)
        return max(self.worker_cpu) / total if len(self.worker_cpu) > 1 and total else None

    @property
    def rss_per_open_stream_kib(self) -> float | None:
        if self.open_rss_kib is None or not self.open_streams:
            return None
        return (self.open_rss_kib - self.idle_rss_kib) / self.open_streams


@dataclasses.dataclass(frozen=True)
class Held:
    """Streams held open while the upstream is silent (a model thinking): their cost per second."""

    streams: int
    seconds: float
    worker_cpu: float
    redis: RedisCounters

    def per_stream_second(self, value: float) -> float:
        return value / self.streams / self.seconds


def median(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


@dataclasses.dataclass
class SetUpRuns:
    """Every load one set-up (`server.py`, or N workers with or without Redis) was given."""

    group: ServerGroup
    long: list[Sample] = dataclasses.field(default_factory=list)
    short: list[Sample] = dataclasses.field(default_factory=list)
    first_tokens_ms: list[float] = dataclasses.field(default_factory=list)
    idle_worker_rss_kib: float = 0.0  # mean of the workers, warmed up, before the first measured load
    redis_fallbacks: int = 0  # log lines saying Redis was unreachable: limits were then counted per process
    held: Held | None = None

    @property
    def target(self) -> Target:
        return Target(self.group.label, self.group.url)

    def samples(self) -> list[Sample]:
        return self.long + self.short

    def cpu_ms(self) -> float:
        return statistics.median(sample.cpu_ms for sample in self.long)

    def split_ms(self, plan: ScaleOutPlan) -> tuple[float, float]:
        """CPU per stream as `per request + tokens × per token` (ms), from the two loads' medians."""
        long, short = self.cpu_ms(), statistics.median(sample.cpu_ms for sample in self.short)
        per_token = (long - short) / (plan.load.words - plan.short_words)
        return short - plan.short_words * per_token, per_token

    def first_token_ms(self) -> float | None:
        return median(self.first_tokens_ms)

    def redis_per_stream(self) -> RedisCounters | None:
        """redis-server's CPU and each command's calls per stream, medians of the long loads (CPU in ms)."""
        counted = [(sample.redis, sample.streams) for sample in self.long if sample.redis is not None]
        if not counted:
            return None
        names = {name for counters, _ in counted for name in counters.calls}
        return RedisCounters(
            statistics.median(counters.cpu / streams * 1000 for counters, streams in counted),
            {
                name: statistics.median(counters.calls.get(name, 0) / streams for counters, streams in counted)
                for name in sorted(names)
            },
        )
