"""The printed report of `bench.scale_out`: CPU per stream, then Redis and memory, then what follows."""

from __future__ import annotations

from .report import machine, table
from .scale_out_runs import ScaleOutPlan, SetUpRuns, median

# A model's pace and an answer's length for the printed example of streams per core (docs/operations.md).
EXAMPLE_RATE = 50  # tokens a second
EXAMPLE_LENGTH = 500  # tokens an answer


def _f(value: float | None, digits: int = 2, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{unit}"


def _share(value: float | None) -> str:
    return _f(None if value is None else value * 100, 0, "%")


def report(plan: ScaleOutPlan, found: list[SetUpRuns], load_before: str, load_after: str) -> str:
    per = plan.load
    return "\n".join(
        [
            machine(),
            f"load average (1, 5, 15 min) before: {load_before}; after: {load_after}",
            "",
            f"CPU per stream: {per.streams} streams asked at once, {per.words} tokens each, one every "
            f"{per.token_delay * 1000:.0f} ms, and the same with {plan.short_words} tokens (split into a part per "
            "request and a part per token); the CPU of every worker added up (from /proc), the arbiter's apart; "
            f"medians of {per.rounds} alternating rounds. Stream time: asking to the last text, against the "
            f"pace's own {per.words * per.token_delay:.2f} s.",
            "",
            cpu_table(plan, found),
            "",
            f"Redis and memory: redis-server's own CPU (/proc) and commands (INFO commandstats, those inside Lua "
            f"scripts too; the scripts in brackets) per stream, {per.words}-token loads; log lines saying Redis was "
            "unreachable (limits then counted per process); RSS per worker warmed up and idle, and per open stream "
            f"at the most upstream streams open in the first load; time to first token of {plan.sequential} "
            "requests one at a time per round.",
            "",
            redis_memory_table(found),
            "",
            *summary(plan, found),
        ]
    )


def cpu_table(plan: ScaleOutPlan, found: list[SetUpRuns]) -> str:
    single = found[0].cpu_ms()  # server.py
    rows = []
    for runs in found:
        per_request, per_token = runs.split_ms(plan)
        rows.append(
            [
                runs.group.name,
                f"{sum(s.exact for s in runs.samples())}/{sum(s.streams for s in runs.samples())}",
                _f(runs.cpu_ms(), unit=" ms"),
                _f(runs.cpu_ms() / single, unit="×"),
                _f(per_request, unit=" ms"),
                _f(per_token * 1000, 1, " µs"),
                _share(median(s.busiest_share for s in runs.long)),
                _f(None if (a := median(s.arbiter_ms for s in runs.long)) is None else a * 1000, 1, " µs"),
                _f(median(s.stream_time for s in runs.long), 2, " s"),
            ]
        )
    headers = ["set-up", "exact", "CPU per stream", "× server.py", "per request", "per token"]
    return table([*headers, "busiest worker", "arbiter per stream", "stream time p50"], rows)


def redis_memory_table(found: list[SetUpRuns]) -> str:
    rows = []
    for runs in found:
        redis = runs.redis_per_stream()
        rows.append(
            [
                runs.group.name,
                _f(redis.cpu if redis else None, 3, " ms"),
                f"{redis.commands:.1f} ({redis.scripts:.1f})" if redis else "-",
                str(runs.redis_fallbacks) if runs.group.redis else "-",
                _f(runs.idle_worker_rss_kib / 1024, 1, " MiB"),
                _f(runs.long[0].rss_per_open_stream_kib, 0, " KiB"),
                _f(runs.first_token_ms(), 2, " ms"),
            ]
        )
    headers = ["set-up", "redis-server CPU per stream", "Redis commands per stream", "Redis unreachable (lines)"]
    return table([*headers, "RSS per worker, idle", "RSS per open stream", "TTFT p50, one at a time"], rows)


def summary(plan: ScaleOutPlan, found: list[SetUpRuns]) -> list[str]:
    by = {(runs.group.workers, runs.group.redis): runs for runs in found}
    fewest, most = min(plan.workers), max(plan.workers)
    # Compared where Redis was used throughout: a set-up that fell back counted some limits per process.
    steady = [workers for workers in sorted(plan.workers) if not by[(workers, True)].redis_fallbacks]
    compared = steady[0] if steady else fewest
    alone, shared = by[(compared, False)], by[(compared, True)]
    lines = []
    if not steady:
        lines.append("every Redis set-up found Redis unreachable at times: the Redis figures below count less")
    redis = shared.redis_per_stream()
    if redis is not None:
        added = _minus(shared.first_token_ms(), alone.first_token_ms())
        latency = "-" if added is None else f"{added:+.2f} ms"
        calls = ", ".join(f"{name} {count:.1f}" for name, count in sorted(redis.calls.items(), key=lambda c: -c[1]))
        lines += [
            f"Redis checks ({shared.group.name}): {shared.cpu_ms() - alone.cpu_ms():+.2f} ms of worker CPU and "
            f"{redis.cpu:.2f} ms of redis-server CPU per stream, {latency} to the first token "
            "(p50, one request at a time)",
            f"Redis commands per stream ({shared.group.name}): {calls}",
        ]
    if most != fewest:
        lines.append(
            f"{most} workers spend {by[(most, False)].cpu_ms() / by[(fewest, False)].cpu_ms():.2f}× the CPU per "
            f"stream of {fewest} (without Redis; {by[(most, True)].cpu_ms() / by[(fewest, True)].cpu_ms():.2f}× "
            "with it)"
        )
    widest = by[(most, True)]
    if widest.held is not None:
        held = widest.held
        lines.append(
            f"{held.streams} silent streams held {held.seconds:.0f} s ({widest.group.name}): "
            f"{held.per_stream_second(held.worker_cpu) * 1e6:.1f} µs of worker CPU and "
            f"{held.per_stream_second(held.redis.cpu) * 1e6:.1f} µs of redis-server CPU per open stream a second "
            "(their idle work too), "
            f"{held.per_stream_second(held.redis.commands):.2f} Redis commands per open stream a second "
            f"({held.per_stream_second(held.redis.scripts) * held.streams:.2f} scripts a second in all)"
        )
    per_request, per_token = shared.split_ms(plan)
    core_share = EXAMPLE_RATE * (per_request / EXAMPLE_LENGTH + per_token) / 1000  # CPU-seconds a second
    lines += [
        f"capacity ({shared.group.name}): a stream costs {per_request:.2f} ms a request + {per_token * 1000:.1f} µs "
        f"a token; at {EXAMPLE_RATE} tokens/s and {EXAMPLE_LENGTH}-token answers one core carries "
        f"{1 / core_share:,.0f} streams (docs/operations.md, Capacity)",
        "throughput is not the figure here: the load generator and the simulated upstream share these cores "
        "with the workers; CPU and memory per stream are, and they transfer to bigger machines",
    ]
    return lines


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
