"""What one chat request came to: its single log line, and the record that metrics and usage
accounting read when it ends."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from aiohttp import web

from chat.accounting.quota_records import Reservation
from chat.log.lines import RefusalLog, line

log = logging.getLogger("chat.relay")

CHARS_PER_TOKEN = 4  # for an answer cut short before the model reported its usage


class Outcome:
    """One request, filled in as it goes."""

    __slots__ = (
        "attempts",
        "ceiling",
        "chunks",
        "client",
        "deployment",
        "endpoint",
        "failovers",
        "finished",
        "first_token",
        "frames",
        "name",
        "prompt_chars",
        "reasoning_chars",
        "refused",
        "reservation",
        "started",
        "text_chars",
        "usage",
    )

    def __init__(self, client: str) -> None:
        self.client = client
        self.name = "client_gone"
        self.refused = False  # a 4xx before any upstream work: counted per client, not logged each time
        self.deployment: str | None = None
        self.endpoint: str | None = None  # the host that answered
        self.attempts: list[tuple[str, str]] = []  # (endpoint host, status) of each upstream request
        self.failovers: list[tuple[str, str]] = []  # (endpoint host, why) of each endpoint left for the next
        self.chunks = 0
        self.frames = 0
        self.prompt_chars = 0
        self.ceiling = 0  # the most output tokens the request allows (its own, the preset's or the server's)
        self.reservation: Reservation | None = None  # what it holds of the client's quota until it ends
        self.text_chars = 0
        self.reasoning_chars = 0
        self.usage: dict[str, Any] | None = None  # as the model reported it
        self.started = time.monotonic()
        self.first_token: float | None = None
        self.finished: float | None = None

    @property
    def upstream_opened(self) -> bool:
        return self.endpoint is not None

    @property
    def duration(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.started

    @property
    def prompt_estimate(self) -> int:
        return -(-self.prompt_chars // CHARS_PER_TOKEN)

    def tokens(self) -> Tokens | None:
        """What the answer cost: as reported, else estimated, else None (no upstream request was answered).

        An answer that ended before its usage arrived (the client left, the connection broke) is
        estimated at its token ceiling: the model may have thought unseen, and bills what it did. An
        answer that ended but reported no usage (some OpenAI-compatible servers) is estimated from
        its text."""
        if self.usage:
            details = self.usage.get("completion_tokens_details") or {}
            return Tokens(
                prompt=int(self.usage.get("prompt_tokens") or 0),
                completion=int(self.usage.get("completion_tokens") or 0),
                reasoning=int(details.get("reasoning_tokens") or 0),
                estimated=False,
            )
        if not self.upstream_opened:
            return None
        completion = -(-(self.text_chars + self.reasoning_chars) // CHARS_PER_TOKEN)
        if self.name != "completed":
            completion = max(completion, self.ceiling)
        return Tokens(prompt=self.prompt_estimate, completion=completion, reasoning=0, estimated=True)

    def log(self, refusals: RefusalLog) -> None:
        if self.refused:
            refusals.refused(self.name, self.client)
            return
        ttft = self.time_to_first_token
        tokens = self.tokens()
        fields: dict[str, object] = {
            "outcome": self.name,
            "client": self.client,
            "deployment": self.deployment or "-",
            "endpoint": self.endpoint or "-",
            "chunks": self.chunks,
            "frames": self.frames,
            "ttft_ms": round(ttft * 1000) if ttft is not None else "-",
            "duration_ms": round(self.duration * 1000),
        }
        if tokens is not None:
            fields.update(
                prompt_tokens=tokens.prompt,
                completion_tokens=tokens.completion,
                reasoning_tokens=tokens.reasoning,
                tokens_estimated=tokens.estimated,
            )
        if self.failovers:
            fields["failovers"] = " ".join(f"{host}:{why}" for host, why in self.failovers)
        log.info(line("chat", **fields))


class Tokens:
    __slots__ = ("completion", "estimated", "prompt", "reasoning")

    def __init__(self, *, prompt: int, completion: int, reasoning: int, estimated: bool) -> None:
        self.prompt = prompt
        self.completion = completion  # includes the reasoning tokens, as the model counts them
        self.reasoning = reasoning
        self.estimated = estimated

    @property
    def total(self) -> int:
        return self.prompt + self.completion


class OutcomeObserver(Protocol):
    """Told of each request that reaches the relay as it ends (metrics, usage, quotas), answered or
    refused: `outcome.deployment` is None for one refused before it was read."""

    def finished(self, outcome: Outcome) -> None: ...


observers_key: web.AppKey[list[OutcomeObserver]] = web.AppKey("observers_key")
