"""Answers' requests sent by aiohttp directly (chat/upstream/direct_post.py): the same request the
SDK sends, on every backend and dialect; the SDK still types refusals and makes the retries."""

from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.simulator import Fault, SimulatedRequest, Simulator
from chat.upstream.direct_post import env_proxy
from chat.upstream.service import upstream_key

from .sse_client import chat_body, read_events, text_of
from .typedefs import Client

# Set per attempt by the SDK, or per body by the HTTP client.
VOLATILE = {"content-length", "x-stainless-retry-count", "x-stainless-read-timeout"}


def sent(record: SimulatedRequest) -> tuple[str, str, dict[str, str], dict[str, object]]:
    headers = {name.lower(): value for name, value in record.headers.items() if name.lower() not in VOLATILE}
    return record.path, record.query, headers, record.body


async def ask(client: Client, simulator: Simulator, direct: bool) -> SimulatedRequest:
    endpoint = client.app[upstream_key].pool.endpoints[0]
    kept = endpoint.direct
    if not direct:
        endpoint.direct = None
    try:
        simulator.script("Same request.")
        events, _ = await read_events(await client.post("/api/chat", json=chat_body("Which way?")))
    finally:
        endpoint.direct = kept
    assert text_of(events) == "Same request."
    return simulator.requests[-1]


@pytest.mark.parametrize(
    ("dialect", "backend"),
    [("chat", "azure"), ("responses", "azure"), ("chat", "azure-v1"), ("responses", "azure-v1"), ("chat", "openai")],
)
async def test_the_direct_request_is_the_one_the_sdk_sends(
    aiohttp_client: AiohttpClient, settings: Settings, upstream: TestServer, simulator: Simulator, backend: str
) -> None:
    if backend == "azure-v1":
        settings = dataclasses.replace(settings, api_version="v1")
    elif backend == "openai":
        settings = dataclasses.replace(
            settings, backend="openai", endpoint=str(upstream.make_url("/v1")), deployments=("llama3.1",)
        )
    client = await aiohttp_client(create_app(settings))
    assert client.app[upstream_key].pool.endpoints[0].direct is not None
    by_sdk = await ask(client, simulator, direct=False)
    direct = await ask(client, simulator, direct=True)
    assert sent(direct) == sent(by_sdk)
    assert simulator.api_key in str(direct.headers)  # signed, as the SDK signs it


async def test_a_refusal_is_typed_by_the_sdk_and_retried_by_it(
    settings: Settings, simulator: Simulator, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_retries=1)))
    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=20)  # the direct attempt
    simulator.script("After one retry.")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "After one retry."
    assert len(simulator.requests) == 2

    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=20, times=2)  # the direct attempt, then the SDK's
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 429
    assert (await response.json())["error"]["code"] == "rate_limited"
    assert len(simulator.requests) == 4  # one retry, as the SDK's max_retries says, not two


async def test_an_endpoint_signed_in_with_entra_id_keeps_the_sdk(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def token() -> str:
        return "entra-token"

    app = create_app(dataclasses.replace(settings, api_key=""), token_provider=token)
    client = await aiohttp_client(app)
    assert client.app[upstream_key].pool.endpoints[0].direct is None


def test_the_proxy_of_the_environment_is_honoured_as_the_sdk_honours_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,.internal.example")
    assert env_proxy("https://name.openai.azure.com/openai/v1/chat/completions") == "http://proxy.example:3128"
    assert env_proxy("https://llm.internal.example/v1/chat/completions") is None
    assert env_proxy("http://127.0.0.1:8000/v1/chat/completions") is None  # no HTTP_PROXY, and bypassed
