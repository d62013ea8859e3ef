"""Usage accounting: the tokens of every answer, per client, deployment and day (UTC).

The client is who signed in (`user:NAME`), the token's name (`token:NAME`, else `token:HASH`) or the
address (`ip:ADDRESS`). An answer whose client left before the model reported its usage is counted
from the estimate, apart, so that a report can say how much of a total is estimated.

The store is behind `UsageStore`, so that one shared by every process (Redis) can replace the
in-process one: `add` is called as each answer ends and must not wait (a store over the network
queues the addition); the questions are awaited.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from chat.accounting.outcome import Outcome, Tokens

KEEP_DAYS = 40  # days of usage kept in the process: this month and all of the last one
MAX_ROWS_PER_DAY = 100_000  # clients and deployments of one day; beyond, newcomers count as "other"
OTHER = "other"


@dataclasses.dataclass(slots=True)
class Count:
    """Answers and their tokens."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0  # includes the reasoning tokens, as the model counts them
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, tokens: Tokens) -> None:
        self.requests += 1
        self.prompt_tokens += tokens.prompt
        self.completion_tokens += tokens.completion
        self.reasoning_tokens += tokens.reasoning

    def merge(self, other: Count) -> None:
        self.requests += other.requests
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.reasoning_tokens += other.reasoning_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclasses.dataclass(slots=True)
class Usage:
    """All of a client's use of a deployment (on a day, or over a period), and the estimated part of it."""

    all: Count = dataclasses.field(default_factory=Count)
    estimated: Count = dataclasses.field(default_factory=Count)  # answers whose usage never came

    def add(self, tokens: Tokens) -> None:
        self.all.add(tokens)
        if tokens.estimated:
            self.estimated.add(tokens)

    def merge(self, other: Usage) -> None:
        self.all.merge(other.all)
        self.estimated.merge(other.estimated)

    def copy(self) -> Usage:
        return Usage(dataclasses.replace(self.all), dataclasses.replace(self.estimated))

    def as_dict(self) -> dict[str, object]:
        return {**self.all.as_dict(), "estimated": self.estimated.as_dict()}


@dataclasses.dataclass(frozen=True, slots=True)
class UsageRow:
    day: datetime.date
    client: str
    deployment: str
    usage: Usage


class UsageStore(Protocol):
    """Where usage is kept: in this process (`MemoryUsageStore`), or shared by every process."""

    def add(self, day: datetime.date, client: str, deployment: str, tokens: Tokens) -> None: ...

    async def for_client(self, client: str, since: datetime.date) -> list[UsageRow]: ...

    async def all(self, since: datetime.date) -> list[UsageRow]: ...


class MemoryUsageStore:
    """Usage in this process, for the last KEEP_DAYS days (each worker of several counts its own)."""

    def __init__(self) -> None:
        self._days: dict[datetime.date, dict[tuple[str, str], Usage]] = {}

    def add(self, day: datetime.date, client: str, deployment: str, tokens: Tokens) -> None:
        if day not in self._days:
            self._forget_before(day - datetime.timedelta(days=KEEP_DAYS))
        rows = self._days.setdefault(day, {})
        key = (client, deployment)
        if key not in rows and len(rows) >= MAX_ROWS_PER_DAY:
            key = (OTHER, deployment)
        rows.setdefault(key, Usage()).add(tokens)

    async def for_client(self, client: str, since: datetime.date) -> list[UsageRow]:
        return [row for row in await self.all(since) if row.client == client]

    async def all(self, since: datetime.date) -> list[UsageRow]:
        return [
            UsageRow(day, client, deployment, usage.copy())
            for day, rows in sorted(self._days.items())
            if day >= since
            for (client, deployment), usage in rows.items()
        ]

    def _forget_before(self, oldest: datetime.date) -> None:
        for day in [day for day in self._days if day < oldest]:
            del self._days[day]


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


class UsageAccounting:
    """An `OutcomeObserver`: adds each answer's tokens, reported or else estimated, to the store."""

    def __init__(self, store: UsageStore, today: Callable[[], datetime.date] = utc_today) -> None:
        self.store = store
        self.today = today  # the day (UTC) an answer is counted on

    def finished(self, outcome: Outcome) -> None:
        tokens = outcome.tokens()
        if tokens is None or outcome.deployment is None:
            return  # the model service never answered: nothing to pay for
        self.store.add(self.today(), outcome.client, outcome.deployment, tokens)


def summed(rows: list[UsageRow]) -> dict[tuple[str, str], Usage]:
    """The rows' usage added up per client and deployment."""
    sums: dict[tuple[str, str], Usage] = {}
    for row in rows:
        sums.setdefault((row.client, row.deployment), Usage()).merge(row.usage)
    return sums


usage_key = web.AppKey("usage_key", UsageAccounting)
