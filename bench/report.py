"""The printed report: the machine, one table per question the benchmark answers, and the targets."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from .profile import Profile
from .scenarios import DELAY_LIMIT, AbortRun, LoadRun, SaturationStep, percentile
from .thinking import ThinkingRun
from .thinking import thinking_verdicts as thinking_goals

MS = 1000.0


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("aiohttp", "openai", "orjson"))
    return (
        f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {model}, Linux {platform.release()}; "
        f"Python {platform.python_version()}; {versions}"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, padded so it also reads well in a terminal."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |" for line in (headers, *rows)]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def ms(seconds: float | None, digits: int = 1) -> str:
    return "-" if seconds is None else f"{seconds * MS:.{digits}f}"


def number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.0f}{unit}"


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def load_table(runs: Sequence[LoadRun]) -> str:
    direct = {run.scenario.name: run for run in runs if run.target == "direct"}
    rows = []
    for run in runs:
        base = direct.get(run.scenario.name) if run.target != "direct" else None  # what "added" is against
        rows.append(
            [
                run.scenario.name,
                run.target,
                f"{run.exact}/{len(run.results)}",
                ms(run.ttft(0.5), 2),
                ms(_minus(run.ttft(0.5), base.ttft(0.5)), 2) if base else "",
                ms(run.gap(0.5)),
                ms(run.gap(0.95)),
                ms(_minus(run.gap(0.5), base.gap(0.5)), 2) if base else "",
                ms(_minus(run.gap(0.95), base.gap(0.95)), 2) if base else "",
                number(run.chunk_rate),
                "-" if run.server_cpu is None else f"{run.server_cpu:.2f}",
                number(run.chunks_per_cpu_second),
                "-" if run.peak_rss_kib is None else f"{run.peak_rss_kib / 1024:.0f}",
                str(run.open_streams or "-"),
                number(run.memory_per_stream_kib, " KiB"),
            ]
        )
    return table(
        [
            "scenario",
            "target",
            "exact",
            "TTFT p50 ms",
            "added",
            "gap p50 ms",
            "gap p95 ms",
            "added p50",
            "added p95",
            "chunks/s",
            "server CPU s",
            "chunks/CPU-s",
            "peak RSS MiB",
            "open at once",
            "RSS/stream",
        ],
        rows,
    )


def abort_table(aborts: Sequence[AbortRun]) -> str:
    rows = [
        [
            a.phase,
            a.target,
            f"{a.opened}/{a.aborts}",
            ms(percentile(a.latencies, 0.5)),
            ms(percentile(a.latencies, 0.95)),
            ms(max(a.latencies, default=None)),
            str(a.still_running),
        ]
        for a in aborts
    ]
    return table(
        ["upstream", "target", "aborted", "close p50 ms", "close p95 ms", "close max ms", "still running"], rows
    )


def saturation_table(steps: Sequence[SaturationStep]) -> str:
    rows = []
    for step in steps:
        for name, run in step.runs.items():
            cpu = "-" if run.server_cpu is None else f"{run.server_cpu / run.wall:.0%}"
            added = step.added_p95(name) if name != "direct" else None
            verdict = "" if name == "direct" else ("yes" if step.sustained(name) else "no")
            rows.append(
                [
                    str(step.streams),
                    number(step.offered),
                    name,
                    number(run.chunk_rate),
                    ms(run.steady_gap(0.95)),
                    ms(added) if name != "direct" else "",
                    cpu,
                    f"{run.bench_cpu / run.wall:.0%}",
                    f"{run.exact}/{len(run.results)}",
                    verdict,
                ]
            )
    return table(
        [
            "streams",
            "offered chunks/s",
            "target",
            "achieved chunks/s",
            "steady gap p95 ms",
            "added p95",
            "server CPU",
            "bench CPU",
            "exact",
            "sustained",
        ],
        rows,
    )


def highest_sustained(steps: Sequence[SaturationStep], target: str) -> float | None:
    rates = [step.runs[target].chunk_rate for step in steps if target in step.runs and step.sustained(target)]
    return max(rates, default=None)


def profile_text(profile: Profile | None) -> str:
    if profile is None:
        return "profile: none (install py-spy: pip install -r bench/requirements.txt)"
    samples = profile.samples

    def share(count: int) -> str:
        return f"{count / samples:.1%}"

    own = table(["self", "function (file)"], [[share(c), name] for name, c in profile.own])
    ours = [
        (name, c)
        for name, c in profile.total
        if "chat/" in name or "aiohttp/" in name or "httpx" in name or "openai/" in name
    ][:15]
    total = table(["total", "function (file)"], [[share(c), name] for name, c in ours])
    return (
        f"relay profile, 100 streams ({profile.samples} py-spy samples)\n\nbusiest frames (self time):\n\n"
        f"{own}\n\ninclusive time, relay and library frames:\n\n{total}"
    )


def verdicts(
    runs: Sequence[LoadRun],
    aborts: Sequence[AbortRun],
    steps: Sequence[SaturationStep],
    hundred: str,
    one: str,
    slow: str,
) -> str:
    """The issue's targets, each with the figure measured in this run."""

    def find(scenario: str, target: str) -> LoadRun | None:
        return next((r for r in runs if r.scenario.name == scenario and r.target == target), None)

    lines = []
    relay, naive = find(hundred, "relay"), find(hundred, "naive")
    if relay and naive and relay.chunks_per_cpu_second and naive.chunks_per_cpu_second:
        ratio = relay.chunks_per_cpu_second / naive.chunks_per_cpu_second
        lines.append(
            _verdict(
                ratio >= 3,
                f"throughput per CPU-second at {hundred}: relay {ratio:.2f}x the naive "
                f"relay ({relay.chunks_per_cpu_second:,.0f} vs {naive.chunks_per_cpu_second:,.0f} "
                "chunks/CPU-s; target >= 3x)",
            )
        )
    relay, direct = find(one, "relay"), find(one, "direct")
    if relay and direct:
        added = _minus(relay.ttft(0.5), direct.ttft(0.5))
        lines.append(
            _verdict(added is not None and added < 0.002, f"added TTFT p50 at {one}: {ms(added, 2)} ms (target < 2 ms)")
        )
    relay, direct = find(hundred, "relay"), find(hundred, "direct")
    if relay and direct:
        added = _minus(relay.gap(0.95), direct.gap(0.95))
        steady = _minus(relay.steady_gap(0.95), direct.steady_gap(0.95))
        lines.append(
            _verdict(
                added is not None and added < 0.010,
                f"added p95 inter-token delay at {hundred}: {ms(added, 2)} ms, {ms(steady, 2)} ms "
                "once all streams run (target < 10 ms)",
            )
        )
    relay, direct = find(slow, "relay"), find(slow, "direct")
    if relay and direct:
        lines.append(
            f"   added p95 inter-token delay at {slow}: "
            f"{ms(_minus(relay.gap(0.95), direct.gap(0.95)))} ms with the ramp of all streams starting "
            f"at once, {ms(_minus(relay.steady_gap(0.95), direct.steady_gap(0.95)), 2)} ms once all run"
        )
    if relay:
        per_stream = relay.memory_per_stream_kib
        lines.append(
            _verdict(
                relay.exact == len(relay.results) and per_stream is not None and per_stream < 100,
                f"{slow}: {relay.exact}/{len(relay.results)} exact, "
                f"{number(per_stream, ' KiB')} RSS per open stream (target < 100 KiB)",
            )
        )
    for abort in aborts:
        if abort.target == "relay":
            p95 = percentile(abort.latencies, 0.95)
            lines.append(
                _verdict(
                    p95 is not None
                    and p95 < 0.050
                    and abort.still_running == 0
                    and len(abort.latencies) == abort.aborts,
                    f"upstream closed after a client abort ({abort.phase}): p95 {ms(p95)} ms, "
                    f"{abort.still_running} still running (target < 50 ms, 0)",
                )
            )
    if steps:
        for target in ("relay", "naive"):
            lines.append(
                f"   highest sustained chunk rate, {target}: "
                f"{number(highest_sustained(steps, target))} chunks/s "
                f"(p95 added delay < {DELAY_LIMIT * MS:.0f} ms, all exact, upstream rate >= 90% of direct)"
            )
    return "\n".join(lines)


def thinking_verdicts(run: ThinkingRun) -> str:
    """The thinking streams' goals (issue 20, goal 3), each with the figure measured in this run."""
    return "\n".join(_verdict(met, text) for met, text in thinking_goals(run))


def _verdict(met: bool, text: str) -> str:
    return ("ok " if met else "MISS ") + text
