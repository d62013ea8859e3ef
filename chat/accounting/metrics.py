"""Prometheus metrics at `/metrics`, fed by the outcome of each request.

The model-service metrics take the names and labels of the OpenTelemetry GenAI semantic conventions
(client metrics, with `gen_ai.provider.name`), in their Prometheus form, with the bucket boundaries
the conventions advise; the rest are ours, named `chat_*`. Every label value comes from a fixed set
or from the settings (deployments, endpoint hosts), anything else is "other": no user, no text.

Under gunicorn each worker counts in its own files in PROMETHEUS_MULTIPROC_DIR and a scrape adds
them up (prometheus-client's multiprocess mode; `chat/gunicorn_config.py` clears a dead worker's
live gauge).
"""

from __future__ import annotations

import os
import re

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from chat.accounting.outcome import Outcome
from chat.config.settings import Settings
from chat.errors.catalogue import CODES

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client itself when it is imported
OTHER = "other"
OPERATION = "chat"  # gen_ai.operation.name of a Chat Completions (or Responses) call
# gen_ai.provider.name: the simulator imitates Azure OpenAI.
PROVIDERS = {"azure": "azure.ai.openai", "openai": "openai", "simulator": "azure.ai.openai"}
# The conventions' advised boundaries: tokens by powers of 4, seconds doubling from 10 ms.
TOKEN_BUCKETS = tuple(float(4**power) for power in range(14))  # 1 to 67,108,864
SECONDS_BUCKETS = tuple(0.01 * 2**power for power in range(14))  # 0.01 to 81.92
# How a request can end: an answer, a client that left or read too slowly, or one of the error codes the client is told.
OUTCOMES = frozenset({"completed", "client_gone", "client_too_slow", *(kind.code for kind in CODES)})
_STATUS = re.compile(r"[1-5]\d\d|timeout|connection_error|rate_limited")  # an attempt's status, a failover's reason

_GEN_AI = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")


class ChatMetrics:
    """The instruments, and an `OutcomeObserver` that records each request in them."""

    def __init__(self, settings: Settings) -> None:
        self._deployments = frozenset(settings.deployments)
        self._endpoints = frozenset(endpoint.host for endpoint in settings.endpoints)
        self._simulated = settings.simulated
        self._provider = PROVIDERS[settings.backend]
        self._multiprocess_dir = os.environ.get(MULTIPROCESS_DIR)
        # One registry per app, so that several apps in one process (tests, a host) each count their own.
        self.registry = registry = CollectorRegistry(auto_describe=True)

        def histogram(name: str, description: str, labels: list[str], buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, description, labels, buckets=buckets, registry=registry)

        def counter(name: str, description: str, *labels: str) -> Counter:
            return Counter(name, description, labels, registry=registry)

        self.token_usage = histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used, as the model service reported them.",
            [*_GEN_AI, "gen_ai_token_type"],
            TOKEN_BUCKETS,
        )
        self.duration = histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration: from the request to the answer's end.",
            [*_GEN_AI, "error_type"],
            SECONDS_BUCKETS,
        )
        self.time_to_first_chunk = histogram(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Time from the request to the first text of the answer.",
            list(_GEN_AI),
            SECONDS_BUCKETS,
        )
        self.requests = counter("chat_requests", "Chat requests by how they ended.", "outcome")
        self.streams_open = Gauge(
            "chat_streams_open",
            "Chat requests being answered (each holds a place among the open streams).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.upstream_requests = counter(
            "chat_upstream_requests",
            "Requests to the model service by endpoint and HTTP status (or timeout, connection_error).",
            "endpoint",
            "status",
        )
        self.failovers = counter(
            "chat_failovers",
            "Endpoints left for the next one before the answer began, by the endpoint left and why.",
            "endpoint",
            "reason",
        )
        self.reasoning_tokens = counter(
            "chat_reasoning_tokens", "Reasoning tokens (part of the output tokens) from reasoning models.", "deployment"
        )
        self.abandoned_output_tokens = counter(
            "chat_abandoned_output_tokens",
            "Output tokens (estimated from the text) of answers whose client left before the end.",
            "deployment",
        )
        self.abandoned_seconds = counter(
            "chat_abandoned_generation_seconds",
            "Seconds answers were generated before their client left and the upstream was closed.",
            "deployment",
        )

    def finished(self, outcome: Outcome) -> None:
        self.requests.labels(outcome.name if outcome.name in OUTCOMES else OTHER).inc()
        for host, status in outcome.attempts:
            self.upstream_requests.labels(self._endpoint(host), _status(status)).inc()
        for host, why in outcome.failovers:
            self.failovers.labels(self._endpoint(host), _status(why)).inc()
        if not outcome.attempts:
            return  # the model service was never asked
        deployment = self._deployment(outcome.deployment)
        gen_ai = (OPERATION, self._provider, deployment)
        error = "" if outcome.name == "completed" else outcome.name if outcome.name in OUTCOMES else OTHER
        self.duration.labels(*gen_ai, error).observe(outcome.duration)
        if (first_token := outcome.time_to_first_token) is not None:
            self.time_to_first_chunk.labels(*gen_ai).observe(first_token)
        tokens = outcome.tokens()
        if tokens is None:
            return
        if not tokens.estimated:  # the conventions count only what the service reports
            self.token_usage.labels(*gen_ai, "input").observe(tokens.prompt)
            self.token_usage.labels(*gen_ai, "output").observe(tokens.completion)
            if tokens.reasoning:
                self.reasoning_tokens.labels(deployment).inc(tokens.reasoning)
        if outcome.name == "client_gone":
            self.abandoned_output_tokens.labels(deployment).inc(tokens.completion)
            self.abandoned_seconds.labels(deployment).inc(outcome.duration)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The metrics in the format the scraper accepts, and its content type."""
        encoder, content_type = choose_encoder(accept)
        if self._multiprocess_dir is None:
            return encoder(self.registry), content_type
        # Every worker's files, read afresh: a registry for this scrape only, as prometheus-client advises.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self._multiprocess_dir)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type

    def _deployment(self, name: str | None) -> str:
        return name if name in self._deployments else OTHER

    def _endpoint(self, host: str) -> str:
        if self._simulated:
            return "simulator"  # on a port of its own each start
        return host if host in self._endpoints else OTHER


def _status(status: str) -> str:
    return status if _STATUS.fullmatch(status) else OTHER


metrics_key = web.AppKey("metrics_key", ChatMetrics)  # absent when CHAT_METRICS is off
