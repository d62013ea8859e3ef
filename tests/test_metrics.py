"""`/metrics`: each request in the right series, read back with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from chat import Settings, SettingsError, create_app
from chat.accounting.metrics import SECONDS_BUCKETS, TOKEN_BUCKETS, ChatMetrics
from chat.accounting.outcome import Outcome
from chat.simulator import Fault, Simulator

from .metric_series import Series, series, value
from .outcomes import watch
from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory

GEN_AI = {
    "gen_ai_operation_name": "chat",
    "gen_ai_provider_name": "azure.ai.openai",
    "gen_ai_request_model": "gpt-test",
}
TOKEN = "a-scraper-token-of-enough-characters"
DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana-dashboard.json"


async def scrape(client: Client, **headers: str) -> Series:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return series(await response.text())


def host_of(url: str) -> str:
    return url.split("//")[1].rstrip("/")


async def test_a_completed_chat_in_every_series(client: Client, settings: Settings) -> None:
    outcomes = watch(client)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("count me")))
    usage = events[-1].data["usage"]
    outcome = await outcomes.next()
    found = await scrape(client)

    assert value(found, "chat_requests_total", outcome="completed") == 1
    assert value(found, "chat_streams_open") == 0
    endpoint = host_of(str(settings.endpoint))
    assert value(found, "chat_upstream_requests_total", endpoint=endpoint, status="200") == 1
    for kind, reported in (("input", usage["prompt_tokens"]), ("output", usage["completion_tokens"])):
        assert value(found, "gen_ai_client_token_usage_sum", **GEN_AI, gen_ai_token_type=kind) == reported
        assert value(found, "gen_ai_client_token_usage_count", **GEN_AI, gen_ai_token_type=kind) == 1
    assert value(found, "gen_ai_client_token_usage_bucket", **GEN_AI, gen_ai_token_type="input", le="1.0") == 0
    duration = value(found, "gen_ai_client_operation_duration_seconds_sum", **GEN_AI, error_type="")
    assert duration == pytest.approx(outcome.duration)
    first_chunk = value(found, "gen_ai_client_operation_time_to_first_chunk_seconds_count", **GEN_AI)
    assert first_chunk == 1
    assert value(found, "chat_abandoned_output_tokens_total", deployment="gpt-test") is None


async def test_a_chat_whose_client_left_counts_what_was_cut_short(client: Client, simulator: Simulator) -> None:
    outcomes = watch(client)
    simulator.token_delay = 0.005
    simulator.script("word " * 2000)
    response = await client.post("/api/chat", json=chat_body())
    assert (await response.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
    response.close()  # Stop
    outcome = await outcomes.next()
    found = await scrape(client)

    assert outcome.name == "client_gone"
    assert value(found, "chat_requests_total", outcome="client_gone") == 1
    assert value(found, "chat_requests_total", outcome="completed") is None
    tokens = outcome.tokens()
    assert tokens is not None and tokens.estimated and tokens.completion > 0
    assert value(found, "chat_abandoned_output_tokens_total", deployment="gpt-test") == tokens.completion
    assert value(found, "chat_abandoned_generation_seconds_total", deployment="gpt-test") == pytest.approx(
        outcome.duration
    )
    duration = value(found, "gen_ai_client_operation_duration_seconds_count", **GEN_AI, error_type="client_gone")
    assert duration == 1
    # The conventions' token usage holds only what the service reported: none here.
    assert value(found, "gen_ai_client_token_usage_count", **GEN_AI, gen_ai_token_type="output") is None
    assert value(found, "chat_streams_open") == 0


async def test_a_failover_by_endpoint_and_reason(
    aiohttp_client: Callable[..., Awaitable[Client]],
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    settings: Settings,
) -> None:
    first, second = Simulator(), Simulator()
    urls = [str((await aiohttp_server(s.app)).make_url("/")) for s in (first, second)]
    client = await aiohttp_client(create_app(dataclasses.replace(settings, endpoint=",".join(urls))))
    outcomes = watch(client)
    first.fail_next(Fault.RATE_LIMITED, retry_after_ms=30_000)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    await outcomes.next()
    found = await scrape(client)

    left, answered = host_of(urls[0]), host_of(urls[1])
    assert value(found, "chat_failovers_total", endpoint=left, reason="rate_limited") == 1
    assert value(found, "chat_upstream_requests_total", endpoint=left, status="429") == 1
    assert value(found, "chat_upstream_requests_total", endpoint=answered, status="200") == 1
    assert value(found, "chat_requests_total", outcome="completed") == 1


async def test_reasoning_tokens_by_deployment(make_client: ClientFactory, simulator: Simulator) -> None:
    simulator.profile = "reasoning"
    client = await make_client()
    outcomes = watch(client)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("think first")))
    reasoning = events[-1].data["usage"]["completion_tokens_details"]["reasoning_tokens"]
    await outcomes.next()
    found = await scrape(client)
    assert reasoning > 0
    assert value(found, "chat_reasoning_tokens_total", deployment="gpt-test") == reasoning


async def test_a_stream_open_while_it_answers(client: Client, simulator: Simulator) -> None:
    simulator.fail_next(Fault.STALL, after_chunks=1)
    outcomes = watch(client)
    response = await client.post("/api/chat", json=chat_body())
    await response.content.readuntil(b"\n\n")
    assert value(await scrape(client), "chat_streams_open") == 1
    response.close()
    await outcomes.next()
    assert value(await scrape(client), "chat_streams_open") == 0


async def test_metrics_need_sign_in_and_take_a_bearer_token(make_client: ClientFactory) -> None:
    client = await make_client(api_tokens=(f"scraper={TOKEN}",), metrics_clients=("token:scraper",))
    refused = await client.get("/metrics")
    assert refused.status == 401
    found = await scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(found, "chat_streams_open") == 0
    assert TOKEN not in await (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text()


async def test_a_signed_in_client_that_is_no_metrics_client_reads_nothing(make_client: ClientFactory) -> None:
    """Token sums and endpoint hosts are for the scraper, not for every signed-in user."""
    user = {"Authorization": "Basic " + base64.b64encode(b"ada:a-long-enough-password").decode()}
    scraper = {"Authorization": f"Bearer {TOKEN}"}
    signed_in = {"basic_auth": (("ada", "a-long-enough-password"),), "api_tokens": (f"scraper={TOKEN}",)}
    for metrics_clients, refused in [((), (user, scraper)), (("token:scraper",), (user,))]:
        client = await make_client(**signed_in, metrics_clients=metrics_clients)
        for headers in refused:
            response = await client.get("/metrics", headers=headers)
            assert response.status == 403
            error = (await response.json())["error"]
            assert error["code"] == "forbidden_metrics" and "CHAT_METRICS_CLIENTS" in error["message"]
            assert await (await client.get("/healthz", headers=headers)).json() == {"status": "ok"}
    assert (await client.get("/metrics", headers=scraper)).status == 200


async def test_a_scraper_on_a_metrics_network_needs_no_sign_in(make_client: ClientFactory) -> None:
    client = await make_client(api_tokens=(TOKEN,), metrics_clients=("127.0.0.0/8",))
    assert value(await scrape(client), "chat_streams_open") == 0
    assert "endpoints" in await (await client.get("/healthz")).json()
    assert (await client.get("/api/usage")).status == 401  # the rest still needs sign-in
    elsewhere = await make_client(api_tokens=(TOKEN,), metrics_clients=("10.0.0.0/8",))
    assert (await elsewhere.get("/metrics")).status == 401


async def test_healthz_without_sign_in_says_only_ok(make_client: ClientFactory) -> None:
    locked = await make_client(api_tokens=(f"scraper={TOKEN}",), metrics_clients=("token:scraper",))
    assert await (await locked.get("/healthz")).json() == {"status": "ok"}
    details = await (await locked.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})).json()
    assert details["mode"] == "azure" and details["open_streams"] == 0 and details["endpoints"][0]["host"]
    # Without sign-in, the details are for a request from this machine only: not for a client
    # behind a proxy, trusted or not, whose clients would all look local.
    for changes, headers in [({}, {"X-Forwarded-For": "127.0.0.1"}), ({"trusted_proxies": ("127.0.0.1",)}, {})]:
        client = await make_client(**changes)
        headers = headers or {"X-Forwarded-For": "198.51.100.7"}
        assert await (await client.get("/healthz", headers=headers)).json() == {"status": "ok"}
        assert (await client.get("/metrics", headers=headers)).status == 403
        assert "endpoints" in await (await client.get("/healthz")).json()


def test_the_metrics_clients_setting_is_checked() -> None:
    base = {
        "AZURE_OPENAI_ENDPOINT": "https://a.example",
        "AZURE_OPENAI_API_KEY": "k" * 20,
        "AZURE_OPENAI_DEPLOYMENT": "d",
    }
    with pytest.raises(SettingsError, match="CHAT_METRICS_CLIENTS names 'token:prometheus'"):
        Settings.from_env({**base, "CHAT_METRICS_CLIENTS": "token:prometheus"})
    with pytest.raises(SettingsError, match="CHAT_METRICS_CLIENTS"):
        Settings.from_env({**base, "CHAT_METRICS_CLIENTS": "group:ops"})
    with pytest.raises(SettingsError, match=r"CHAT_METRICS_CLIENTS .* not '10\.0\.0\.0/33'"):
        Settings.from_env({**base, "CHAT_METRICS_CLIENTS": "10.0.0.0/33"})  # a network, not a name
    settings = Settings.from_env({**base, "CHAT_METRICS_CLIENTS": "ada, 10.0.0.0/8, user:bob"})
    assert settings.metrics_clients == ("user:ada", "10.0.0.0/8", "user:bob")


async def test_openmetrics_for_a_scraper_that_asks_for_it(client: Client) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await response.text()).endswith("# EOF\n")


async def test_the_setting_turns_metrics_off(make_client: ClientFactory) -> None:
    client = await make_client(metrics=False)
    assert (await client.get("/metrics")).status == 404
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"


def test_labels_stay_within_fixed_sets(settings: Settings) -> None:
    """No label can grow without bound: anything not from the settings or a fixed set is "other"."""
    metrics = ChatMetrics(settings)
    outcome = Outcome("user:someone-with-a-long-name")
    outcome.name = "something_new"
    outcome.deployment = "not-configured"
    outcome.attempts = [("elsewhere.example:443", "banana"), (host_of(str(settings.endpoint)), "418")]
    outcome.failovers = [("elsewhere.example:443", "a free text reason")]
    metrics.finished(outcome)
    found = series(metrics.exposition("")[0].decode())

    assert value(found, "chat_requests_total", outcome="other") == 1
    assert value(found, "chat_upstream_requests_total", endpoint="other", status="other") == 1
    assert value(found, "chat_upstream_requests_total", endpoint=host_of(str(settings.endpoint)), status="418") == 1
    assert value(found, "chat_failovers_total", endpoint="other", reason="other") == 1
    labels = {label for (_, pairs) in found for pair in pairs for label in pair}
    assert "someone-with-a-long-name" not in " ".join(labels)
    assert {"not-configured", "something_new", "banana", "elsewhere.example:443"}.isdisjoint(labels)
    other = {**GEN_AI, "gen_ai_request_model": "other", "error_type": "other"}
    assert value(found, "gen_ai_client_operation_duration_seconds_count", **other) == 1


def test_the_conventions_bucket_boundaries() -> None:
    assert TOKEN_BUCKETS[:3] == (1, 4, 16) and TOKEN_BUCKETS[-1] == 67_108_864 and len(TOKEN_BUCKETS) == 14
    assert SECONDS_BUCKETS[:3] == (0.01, 0.02, 0.04) and SECONDS_BUCKETS[-1] == pytest.approx(81.92)


async def test_several_apps_in_one_process_count_apart(make_client: ClientFactory) -> None:
    first, second = await make_client(), await make_client()
    outcomes = watch(first)
    await (await first.post("/api/chat", json=chat_body())).read()
    await outcomes.next()
    counted = await asyncio.gather(scrape(first), scrape(second))
    assert value(counted[0], "chat_requests_total", outcome="completed") == 1
    assert value(counted[1], "chat_requests_total", outcome="completed") is None


async def test_the_dashboard_asks_only_for_metrics_the_server_exports(client: Client) -> None:
    text = await (await client.get("/metrics")).text()
    families = {family.name for family in text_string_to_metric_families(text)}
    expressions = [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]]
    assert len(expressions) > 5
    for expression in expressions:
        for name in re.findall(r"\b((?:chat|gen_ai)_[a-z_]+)[{\[]", expression):
            assert re.sub(r"_(total|bucket|sum|count)$", "", name) in families, f"{name} is not exported"


async def test_requests_refused_before_they_are_read_are_counted_too(client: Client) -> None:
    await (await client.post("/api/chat", data="{", headers={"Content-Type": "application/json"})).read()
    await (await client.post("/api/chat", json={"messages": []})).read()
    found = await scrape(client)
    assert value(found, "chat_requests_total", outcome="invalid_json") == 1
    assert value(found, "chat_requests_total", outcome="invalid_request") == 1
