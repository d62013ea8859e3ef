"""Several endpoints: a throttled or failing one is left for the next at once, before the first byte
reaches the browser; through the real SDK to simulated endpoints, each its own HTTP server."""

from __future__ import annotations

import dataclasses
import logging
import random
import socket
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from chat import Settings, SettingsError, create_app
from chat.config.endpoints import EndpointConfig
from chat.simulator import Fault, Simulator
from chat.upstream import Endpoint, EndpointPool

from .sse_client import chat_body, read_events, text_of

Simulators = list[tuple[Simulator, str]]  # and their URLs
LONG_WAIT_MS = 30_000  # a Retry-After no test waits out


@pytest.fixture
async def simulators(aiohttp_server: AiohttpServer) -> Simulators:
    """Three simulated endpoints and their URLs, in priority order."""
    started: Simulators = []
    for _ in range(3):
        simulator = Simulator(record=True)
        server = await aiohttp_server(simulator.app)
        started.append((simulator, str(server.make_url("/"))))
    return started


def _settings(settings: Settings, urls: list[str], **changes: Any) -> Settings:
    # max_retries=2: if the SDK retried on this path, the records would show it.
    return dataclasses.replace(settings, endpoint=",".join(urls), max_retries=2, **changes)


async def test_a_throttled_endpoint_is_left_at_once_and_not_asked_while_its_retry_after_runs(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    (first, first_url), (second, second_url), _ = simulators
    client = await aiohttp_client(create_app(_settings(settings, [first_url, second_url])))
    first.fail_next(Fault.RATE_LIMITED, retry_after_ms=LONG_WAIT_MS)
    for question in ("one", "two", "three"):
        second.script(f"answer {question}")
        events, _ = await read_events(await client.post("/api/chat", json=chat_body(question)))
        assert text_of(events) == f"answer {question}"
        assert events[-1].name == "done"
    assert len(first.requests) == 1  # once, no SDK retry, and not again while benched
    assert len(second.requests) == 3
    health = await (await client.get("/healthz")).json()
    states = {endpoint["host"]: endpoint for endpoint in health["endpoints"]}
    benched = states[first_url.split("//")[1].rstrip("/")]
    assert benched["state"] == "benched" and 25 < benched["retry_in_s"] <= 30
    assert states[second_url.split("//")[1].rstrip("/")]["state"] == "ok"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("chat outcome=")]
    assert f'endpoint="{second_url.split("//")[1].rstrip("/")}"' in lines[0]
    assert "failovers=" in lines[0] and ":rate_limited" in lines[0]
    assert "simulator-key" not in "".join(lines)


async def test_one_endpoint_throttled_and_one_failing_the_third_answers(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    (first, first_url), (second, second_url), (third, third_url) = simulators
    client = await aiohttp_client(create_app(_settings(settings, [first_url, second_url, third_url])))
    first.fail_next(Fault.RATE_LIMITED, retry_after_ms=LONG_WAIT_MS)
    second.fail_next(Fault.SERVER_ERROR)
    text = "Grüße, exact to the byte: 👩‍💻 " * 20
    third.script(text)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == text
    assert (len(first.requests), len(second.requests), len(third.requests)) == (1, 1, 1)
    health = await (await client.get("/healthz")).json()
    assert [endpoint["state"] for endpoint in health["endpoints"]] == ["benched", "failing", "ok"]


async def test_a_refused_connection_is_left_for_the_next(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{unused.getsockname()[1]}/"
    (first, first_url), _, _ = simulators
    client = await aiohttp_client(create_app(_settings(settings, [closed_url, first_url])))
    first.script("still here")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "still here"


async def test_every_endpoint_benched_is_a_429_with_the_soonest_retry_after(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    (first, first_url), (second, second_url), _ = simulators
    client = await aiohttp_client(create_app(_settings(settings, [first_url, second_url])))
    first.fail_next(Fault.RATE_LIMITED, retry_after_ms=LONG_WAIT_MS)
    second.fail_next(Fault.RATE_LIMITED, retry_after_ms=7_000)
    for _ in range(2):  # the second time, nobody is asked at all
        response = await client.post("/api/chat", json=chat_body())
        assert response.status == 429
        error = (await response.json())["error"]
        assert error["code"] == "rate_limited"
        assert error["retry_after"] in (6, 7)
        assert response.headers["Retry-After"] == str(error["retry_after"])
    assert (len(first.requests), len(second.requests)) == (1, 1)


async def test_no_failover_once_the_answer_has_begun(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    (first, first_url), (second, second_url), _ = simulators
    client = await aiohttp_client(create_app(_settings(settings, [first_url, second_url])))
    first.script("one two three four five")
    first.fail_next(Fault.DROP, after_chunks=2)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "one two"
    assert events[-1].name == "error" and events[-1].data["code"] == "upstream_unavailable"
    assert not second.requests


async def test_classic_and_v1_endpoints_mixed(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    (first, first_url), (second, second_url), _ = simulators
    mixed = _settings(settings, [first_url, second_url + "openai/v1/"], api_version="2024-12-01-preview")
    client = await aiohttp_client(create_app(mixed))
    await (await client.post("/api/chat", json=chat_body())).read()
    assert first.requests[-1].path == "/openai/deployments/gpt-test/chat/completions"
    first.fail_next(Fault.SERVER_ERROR)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert second.requests[-1].path == "/openai/v1/chat/completions"


async def test_keyless_sign_in_works_for_every_endpoint(
    aiohttp_client: AiohttpClient, settings: Settings, simulators: Simulators
) -> None:
    async def token_provider() -> str:
        return "entra-token"

    (first, first_url), (second, second_url), _ = simulators
    for simulator, _ in simulators:
        simulator.bearer_tokens.add("entra-token")
    keyless = dataclasses.replace(_settings(settings, [first_url, second_url]), api_key=None)
    client = await aiohttp_client(create_app(keyless, token_provider=token_provider))
    first.fail_next(Fault.RATE_LIMITED, retry_after_ms=LONG_WAIT_MS)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert second.requests[-1].headers["Authorization"] == "Bearer entra-token"


async def test_endpoints_file_with_priorities_keys_and_deployment_names(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    simulators: Simulators,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (first, first_url), (second, second_url), _ = simulators
    second.api_key = "ptu-key-from-the-environment"
    monkeypatch.setenv("PTU_KEY", second.api_key)
    (tmp_path / "endpoints.toml").write_text(
        f'[[endpoints]]\nurl = "{first_url}"\napi_key = "{first.api_key}"\npriority = 2\n\n'
        f'[[endpoints]]\nurl = "{second_url}"\napi_key_env = "PTU_KEY"\npriority = 1\n'
        '[endpoints.deployments]\ngpt-test = "gpt-test-ptu"\n'
    )
    from_file = dataclasses.replace(
        settings, endpoint=None, api_key=None, endpoints_file=str(tmp_path / "endpoints.toml")
    )
    client = await aiohttp_client(create_app(from_file))
    await (await client.post("/api/chat", json=chat_body())).read()
    assert second.requests[-1].body["model"] == "gpt-test-ptu"  # provisioned first, under its own name
    second.fail_next(Fault.RATE_LIMITED, retry_after_ms=LONG_WAIT_MS)
    await (await client.post("/api/chat", json=chat_body())).read()
    assert first.requests[-1].body["model"] == "gpt-test"  # then standard as spill-over


def test_weights_decide_the_order_among_equal_priorities() -> None:
    heavy, light = EndpointConfig("http://heavy.example", weight=3.0), EndpointConfig("http://light.example")
    pool = EndpointPool(
        [Endpoint(heavy, client=None), Endpoint(light, client=None)],  # type: ignore[arg-type]
        rng=random.Random(7),
    )
    firsts = [next(iter(pool.to_try())).config for _ in range(4000)]
    assert 0.70 < firsts.count(heavy) / len(firsts) < 0.80


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "AZURE_OPENAI_ENDPOINT": "https://a.example,https://b.example,https://c.example",
                "AZURE_OPENAI_API_KEY": "k1,k2",
                "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
            },
            "one key for every endpoint or one per endpoint",
        ),
        (
            {
                "AZURE_OPENAI_ENDPOINT": "https://a.example,ftp://b.example",
                "AZURE_OPENAI_DEPLOYMENT": "gpt-4o",
                "AZURE_OPENAI_API_KEY": "k",
            },
            r"AZURE_OPENAI_ENDPOINT: endpoints must be http\(s\) URLs",
        ),
        ({"CHAT_ENDPOINTS_FILE": "/nonexistent/endpoints.toml", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o"}, "cannot read"),
    ],
    ids=["key-count", "bad-url", "missing-file"],
)
def test_endpoint_settings_errors_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
