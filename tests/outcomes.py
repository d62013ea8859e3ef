"""The outcome of each chat request as it ends, for a test to await instead of sleeping."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient

from chat.accounting.outcome import Outcome, observers_key

WAIT = 5.0  # seconds


class FinishedOutcomes:
    """An `OutcomeObserver` told after the app's own (usage, metrics), so those have counted."""

    def __init__(self) -> None:
        self._finished: asyncio.Queue[Outcome] = asyncio.Queue()

    def finished(self, outcome: Outcome) -> None:
        self._finished.put_nowait(outcome)

    async def next(self) -> Outcome:
        return await asyncio.wait_for(self._finished.get(), WAIT)


def watch(client: TestClient[web.Request, web.Application]) -> FinishedOutcomes:
    outcomes = FinishedOutcomes()
    client.app[observers_key].append(outcomes)
    return outcomes
