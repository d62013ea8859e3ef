"""The endpoints of the model service and their health: which one to ask next, and which ones rest.

An endpoint that answers 429 rests (is benched) for as long as its `retry-after-ms` (else
`Retry-After`) says; one that fails (5xx, refused or timed-out connection) rests briefly, longer
each time it fails again in a row, like a circuit breaker. The first endpoint that is not resting,
by priority and then at random by weight, gets the request; with one endpoint there is nothing to
fail over to, so it is always asked and the SDK's own retries apply.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator

import openai

from chat.config.endpoints import EndpointConfig
from chat.upstream.direct_post import DirectPost

FIRST_REST = 2.0  # seconds an endpoint rests after a failure; doubling with each one in a row
LONGEST_REST = 60.0


@dataclasses.dataclass(eq=False)
class Endpoint:
    config: EndpointConfig
    client: openai.AsyncOpenAI
    direct: DirectPost | None = None  # where answers' requests may skip the SDK's request path
    resting_until: float = 0.0
    throttled: bool = False  # resting because it said 429, not because it failed
    failures_in_a_row: int = 0
    last_failure: str | None = None

    @property
    def host(self) -> str:
        return self.config.host

    def state(self, now: float) -> dict[str, object]:
        """What /healthz says of it: ok, throttled (benched) for N seconds, or failing."""
        resting = max(0.0, self.resting_until - now)
        if resting and self.throttled:
            return {"host": self.host, "state": "benched", "retry_in_s": round(resting, 1)}
        if resting or self.failures_in_a_row:
            return {
                "host": self.host,
                "state": "failing",
                "retry_in_s": round(resting, 1),
                "failures_in_a_row": self.failures_in_a_row,
                "last_failure": self.last_failure,
            }
        return {"host": self.host, "state": "ok"}


class EndpointPool:
    def __init__(self, endpoints: list[Endpoint], *, rng: random.Random | None = None) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self.endpoints = endpoints
        self._random = rng or random.Random()

    @property
    def fails_over(self) -> bool:
        return len(self.endpoints) > 1

    def to_try(self) -> Iterator[Endpoint]:
        """Endpoints in the order to ask them: those not resting by priority (at random by weight
        among equals), then those resting after failures (a probe beats refusing outright). Those
        resting after a 429 are never asked while it runs."""
        now = time.monotonic()
        if not self.fails_over:
            yield from self.endpoints
            return
        ready = [e for e in self.endpoints if e.resting_until <= now]
        probes = sorted(
            (e for e in self.endpoints if e.resting_until > now and not e.throttled), key=lambda e: e.resting_until
        )
        for priority in sorted({e.config.priority for e in ready}):
            yield from self._weighted_order([e for e in ready if e.config.priority == priority])
        yield from probes

    def soonest_retry(self) -> float:
        """Seconds until the first resting endpoint may be asked again."""
        now = time.monotonic()
        return max(0.0, min(e.resting_until for e in self.endpoints) - now)

    def throttled(self, endpoint: Endpoint, seconds: float) -> None:
        endpoint.resting_until = time.monotonic() + seconds
        endpoint.throttled = True

    def failed(self, endpoint: Endpoint, reason: str) -> None:
        endpoint.failures_in_a_row += 1
        endpoint.last_failure = reason
        endpoint.throttled = False
        if self.fails_over:
            rest = min(LONGEST_REST, FIRST_REST * 2 ** (endpoint.failures_in_a_row - 1))
            endpoint.resting_until = time.monotonic() + rest

    def succeeded(self, endpoint: Endpoint) -> None:
        endpoint.failures_in_a_row = 0
        endpoint.last_failure = None

    def states(self) -> list[dict[str, object]]:
        now = time.monotonic()
        return [endpoint.state(now) for endpoint in self.endpoints]

    async def close(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.close()

    def _weighted_order(self, endpoints: list[Endpoint]) -> list[Endpoint]:
        """A random order in which heavier endpoints tend to come first (weighted sampling without
        replacement: each key is u ** (1 / weight))."""
        return sorted(endpoints, key=lambda e: self._random.random() ** (1 / e.config.weight), reverse=True)
