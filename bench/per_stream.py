"""CPU per stream and the burst start, against a byte-copy proxy (the floor) and the plain SDK relay.

The same burst (C streams asked in the same instant, each of `words` tokens) goes to each process
in turn, and the turns alternate for `rounds` rounds: each figure is the median over its rounds,
so a machine that gets busier during the run moves every target alike.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from .load import Target
from .processes import RelayProcess
from .scenarios import Bench, LoadRun, Scenario

CPU_GOAL = 1.15  # the relay's CPU per stream over the byte-copy proxy's
BURST_GOAL = 1.30  # the relay's TTFT p50 at the burst over the byte-copy proxy's


@dataclasses.dataclass(frozen=True)
class PerStreamPlan:
    streams: int = 200
    words: int = 200
    token_delay: float = 0.01
    rounds: int = 3


@dataclasses.dataclass
class PerStreamRuns:
    plan: PerStreamPlan
    runs: dict[str, list[LoadRun]]  # target name -> one run per round

    def cpu_ms(self, target: str) -> float | None:
        values = [run.server_cpu / len(run.results) * 1000 for run in self.runs[target] if run.server_cpu]
        return statistics.median(values) if values else None

    def ttft_ms(self, target: str) -> float | None:
        values = [t * 1000 for run in self.runs[target] if (t := run.ttft(0.5)) is not None]
        return statistics.median(values) if values else None

    def exact(self, target: str) -> tuple[int, int]:
        return sum(r.exact for r in self.runs[target]), sum(len(r.results) for r in self.runs[target])


async def measure(bench: Bench, targets: Sequence[tuple[Target, RelayProcess]], plan: PerStreamPlan) -> PerStreamRuns:
    scenario = Scenario(f"{plan.streams} streams", plan.streams, plan.words, plan.token_delay)
    found = PerStreamRuns(plan, {target.name: [] for target, _ in targets})
    for _ in range(plan.rounds):
        for target, process in targets:
            found.runs[target.name].append(await bench.run(scenario, target, process))
    return found


def _ratio(value: float | None, floor: float | None) -> float | None:
    return value / floor if value is not None and floor else None


def per_stream_text(found: PerStreamRuns, floor: str = "byte-copy", product: str = "relay") -> str:
    plan = found.plan
    lines = [
        f"per stream: {plan.streams} streams asked at once, {plan.words} tokens each, "
        f"one every {plan.token_delay * 1000:.0f} ms; medians of {plan.rounds} alternating rounds",
        "",
        "| target | exact | CPU per stream | × byte-copy | TTFT p50 | × byte-copy |",
        "|---|---|---|---|---|---|",
    ]
    floor_cpu, floor_ttft = found.cpu_ms(floor), found.ttft_ms(floor)
    for name in found.runs:
        cpu, ttft = found.cpu_ms(name), found.ttft_ms(name)
        exact, total = found.exact(name)
        cpu_ratio, ttft_ratio = _ratio(cpu, floor_cpu), _ratio(ttft, floor_ttft)
        lines.append(
            f"| {name} | {exact}/{total} | {_ms(cpu)} | {_times(cpu_ratio)} | {_ms(ttft)} | {_times(ttft_ratio)} |"
        )
    cpu_ratio = _ratio(found.cpu_ms(product), floor_cpu)
    ttft_ratio = _ratio(found.ttft_ms(product), floor_ttft)
    lines += [
        "",
        _goal("CPU per stream", cpu_ratio, CPU_GOAL),
        _goal(f"TTFT p50 at a burst of {plan.streams}", ttft_ratio, BURST_GOAL),
    ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _goal(what: str, ratio: float | None, goal: float) -> str:
    if ratio is None:
        return f"{what}: not measured (goal ≤ {goal:.2f}× the byte-copy proxy)"
    verdict = "met" if ratio <= goal else "NOT met"
    return f"{what}: {ratio:.2f}× the byte-copy proxy, goal ≤ {goal:.2f}×: {verdict}"
