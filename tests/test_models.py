"""The Azure models people deploy today, through the real SDK to the simulator's model profiles:
reasoning models, the v1 API, the Responses API, long thinking, asynchronous content filtering."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.simulator import Fault, Simulator
from chat.simulator.answers import tokens

from .servers import running_server
from .sse_client import chat_body, read_events, text_of
from .typedefs import Client, ClientFactory


async def test_a_reasoning_deployment_works_with_endpoint_key_and_deployment_only(
    aiohttp_client: AiohttpClient, simulator: Simulator, settings: Settings
) -> None:
    """What a newcomer sets: the defaults must be what a gpt-5-mini deployment takes."""
    simulator.profile = "reasoning"
    env = {
        "AZURE_OPENAI_ENDPOINT": settings.endpoint or "",
        "AZURE_OPENAI_API_KEY": simulator.api_key,
        "AZURE_OPENAI_DEPLOYMENT": "gpt-5-mini",
        "CHAT_MAX_TOKENS": "4000",
    }
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    simulator.script("Thought it through.")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("Why?")))
    assert text_of(events) == "Thought it through."
    sent = simulator.requests[-1]
    assert sent.path == "/openai/v1/chat/completions"  # the v1 API: no api-version
    assert sent.body["model"] == "gpt-5-mini"
    assert sent.body["max_completion_tokens"] == 4000
    assert not {"max_tokens", "temperature", "top_p"} & set(sent.body)
    assert sent.body["messages"][0]["role"] == "system"  # reasoning models take it (as developer)
    usage = events[-1].data["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0
    assert (
        usage["completion_tokens"]
        == len(tokens("Thought it through.")) + usage["completion_tokens_details"]["reasoning_tokens"]
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [({"max_tokens": 10}, "max_tokens"), ({"temperature": 0.7}, "temperature")],
    ids=["max-tokens", "temperature"],
)
async def test_the_reasoning_profile_refuses_what_azure_refuses(
    upstream: TestServer, simulator: Simulator, body: dict[str, object], param: str
) -> None:
    """The simulator's fidelity, which the tests above rely on."""
    simulator.profile = "reasoning"
    request = {"model": "o4-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True, **body}
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            upstream.make_url("/openai/v1/chat/completions"), json=request, headers={"api-key": simulator.api_key}
        )
        assert response.status == 400
        assert (await response.json())["error"]["param"] == param


async def test_an_old_api_version_is_a_clear_message_naming_the_setting(
    make_client: ClientFactory, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.profile = "reasoning"
    client = await make_client(api_version="2024-10-21")
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    assert "AZURE_OPENAI_API_VERSION" in (await response.json())["error"]["message"]
    client = await make_client(api_version="2024-12-01-preview")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert simulator.requests[-1].path == "/openai/deployments/gpt-test/chat/completions"


def test_an_old_api_version_is_warned_about_at_start(settings: Settings) -> None:
    from chat.edge.app import api_version_warning

    assert api_version_warning(dataclasses.replace(settings, api_version="2024-10-21")) is not None
    assert api_version_warning(dataclasses.replace(settings, api_version="2025-04-01-preview")) is None
    assert api_version_warning(settings) is None  # v1


@pytest.mark.parametrize("suffix", ["", "openai/v1", "openai/v1/"])
async def test_the_endpoint_may_name_the_v1_path_itself(
    make_client: ClientFactory, simulator: Simulator, settings: Settings, suffix: str
) -> None:
    client = await make_client(endpoint=(settings.endpoint or "") + suffix)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    assert simulator.requests[-1].path == "/openai/v1/chat/completions"


@pytest.mark.parametrize(
    ("parameter", "sent"),
    [(None, "max_tokens"), ("max_tokens", "max_tokens"), ("max_completion_tokens", "max_completion_tokens")],
    ids=["default", "max-tokens", "max-completion-tokens"],
)
async def test_openai_compatible_servers_get_the_parameter_they_take(
    aiohttp_client: AiohttpClient, settings: Settings, simulator: Simulator, parameter: str | None, sent: str
) -> None:
    env = {
        "OPENAI_BASE_URL": f"{settings.endpoint}v1",
        "OPENAI_API_KEY": simulator.api_key,
        "OPENAI_MODEL": "llama",
        "CHAT_MAX_TOKENS": "300",
        **({"OPENAI_MAX_TOKENS_PARAMETER": parameter} if parameter else {}),
    }
    client = await aiohttp_client(create_app(Settings.from_env(env)))
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "done"
    body = simulator.requests[-1].body
    assert body[sent] == 300
    assert {"max_tokens", "max_completion_tokens"} - {sent} & set(body) == set()


async def test_reasoning_effort_is_sent_and_a_model_that_refuses_it_is_asked_again_without(
    make_client: ClientFactory, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    simulator.profiles = {"o3": "reasoning", "gpt-4o": "gpt-4o"}
    client = await make_client(deployments=("o3", "gpt-4o"), reasoning_effort=("low", "o3=high"))
    await (await client.post("/api/chat", json=chat_body())).read()
    assert simulator.requests[-1].body["reasoning_effort"] == "high"
    for _ in range(2):
        events, _ = await read_events(await client.post("/api/chat", json={**chat_body(), "deployment": "gpt-4o"}))
        assert events[-1].name == "done"
    refused, retried, remembered = simulator.requests[-3:]
    assert refused.body["reasoning_effort"] == "low"
    assert "reasoning_effort" not in retried.body and "reasoning_effort" not in remembered.body
    assert sum("does not take 'reasoning_effort'" in record.getMessage() for record in caplog.records) == 1


async def test_thinking_longer_than_the_stall_timeout_with_pings_meanwhile(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 0.6
    client = await make_client(read_timeout=0.2, first_token_timeout=5, ping_interval=0.05)
    simulator.script("Done thinking.")
    events, comments = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "Done thinking."
    assert comments.count(": ping") >= 5  # the browser and every proxy in between see a live stream


async def test_thinking_past_the_first_token_timeout_is_an_upstream_timeout(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 30
    client = await make_client(read_timeout=5, first_token_timeout=0.3)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].name == "error" and events[-1].data["code"] == "upstream_timeout"
    record = simulator.requests[-1]
    await asyncio.wait_for(record.ended.wait(), 5)
    assert record.hung_up


async def test_stop_while_the_model_thinks_closes_the_upstream(settings: Settings, simulator: Simulator) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 60
    async with running_server(create_app(settings)) as url, aiohttp.ClientSession() as session:
        response = await session.post(f"{url}/api/chat", json=chat_body())
        record = await asyncio.wait_for(simulator.next_request(), 5)
        await asyncio.wait_for(record.streaming.wait(), 5)
        response.close()
        await asyncio.wait_for(record.ended.wait(), 2)
    assert record.hung_up and not record.completed


async def test_a_responses_only_model_on_chat_completions_names_the_setting(
    make_client: ClientFactory, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.profile = "responses"
    client = await make_client()
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    error = (await response.json())["error"]
    assert error["code"] == "operation_not_supported"
    assert "CHAT_RESPONSES_DEPLOYMENTS" in error["message"]
    assert any("CHAT_RESPONSES_DEPLOYMENTS" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("api_version", ["v1", "2025-04-01-preview"])
async def test_the_responses_api_streams_reasoning_then_text(
    make_client: ClientFactory, simulator: Simulator, api_version: str
) -> None:
    simulator.profile = "responses"
    client = await make_client(
        responses_deployments=("gpt-test",),
        api_version=api_version,
        max_tokens=900,
        system_prompt="Be brief.",
        reasoning_effort=("medium",),
    )
    simulator.script("The answer.")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("Why?")))
    names = [event.name for event in events]
    assert names[0] == "reasoning" and "reasoning" not in names[names.index("delta") :]
    assert "Reading the question" in "".join(e.data["content"] for e in events if e.name == "reasoning")
    assert text_of(events) == "The answer."
    done = events[-1]
    assert done.name == "done" and done.data["finish_reason"] == "stop"
    assert done.data["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    sent = simulator.requests[-1]
    assert sent.path == ("/openai/v1/responses" if api_version == "v1" else "/openai/responses")
    assert sent.body["store"] is False  # Azure would otherwise keep the conversation for 30 days
    assert sent.body["reasoning"] == {"summary": "auto", "effort": "medium"}
    assert sent.body["max_output_tokens"] == 900
    assert sent.body["input"] == [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Why?"}]


async def test_a_responses_model_without_summaries_is_asked_again_without_them(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    simulator.profile = "gpt-4o"  # on the Responses API, but no reasoning
    client = await make_client(responses_deployments=("gpt-test",))
    for _ in range(2):
        events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
        assert events[-1].name == "done"
        assert "reasoning" not in [event.name for event in events]
    refused, retried, remembered = simulator.requests
    assert refused.body["reasoning"] == {"summary": "auto"}
    assert "reasoning" not in retried.body and "reasoning" not in remembered.body


async def test_the_asynchronous_filter_flags_an_answer_after_its_text(client: Client, simulator: Simulator) -> None:
    simulator.profile = "async-filter"
    simulator.script("one two three four five six seven eight nine ten")
    simulator.fail_next(Fault.CONTENT_FILTER_FINISH)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    # The text streamed before the verdict (the page then replaces it); the ending says why.
    assert text_of(events) == "one two three four five six seven eight nine ten"
    assert events[-1].name == "done" and events[-1].data["finish_reason"] == "content_filter"


async def test_the_asynchronous_filter_passes_a_clean_answer_exactly(client: Client, simulator: Simulator) -> None:
    simulator.profile = "async-filter"
    simulator.split_frames = True
    text = "word " * 40
    simulator.script(text)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == text
    assert events[-1].data["finish_reason"] == "stop"


async def test_demo_mode_offers_every_simulated_model(aiohttp_client: AiohttpClient) -> None:
    settings = Settings(
        simulator_model="reasoning", simulator_thinking_time=0, simulator_first_token_delay=0, simulator_token_delay=0
    )
    client = await aiohttp_client(create_app(settings))
    assert settings.deployments[0] == "simulated-reasoning"
    for deployment in settings.deployments:
        events, _ = await read_events(await client.post("/api/chat", json={**chat_body(), "deployment": deployment}))
        assert events[-1].name == "done", deployment
        thoughts = [event for event in events if event.name == "reasoning"]
        assert bool(thoughts) == (deployment == "simulated-responses")
