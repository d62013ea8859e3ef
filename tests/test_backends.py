"""Keyless Entra ID, several deployments, and OpenAI-compatible servers, through the real SDK."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient

from chat import Settings, SettingsError, create_app
from chat.simulator import Fault, Simulator

from .sse_client import chat_body, read_events, text_of
from .typedefs import ClientFactory, StartUp


@pytest.mark.parametrize("api_version", ["v1", "2024-12-01-preview"])
async def test_entra_id_token_is_sent_as_bearer(
    aiohttp_client: AiohttpClient, settings: Settings, simulator: Simulator, api_version: str
) -> None:
    calls = 0

    async def token_provider() -> str:
        nonlocal calls
        calls += 1
        return "entra-token-1"

    simulator.bearer_tokens.add("entra-token-1")
    keyless = dataclasses.replace(settings, api_key=None, api_version=api_version)
    assert keyless.uses_entra_id
    client = await aiohttp_client(create_app(keyless, token_provider=token_provider))
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("keyless")))
    assert text_of(events).startswith("You asked: *keyless*")
    headers = simulator.requests[-1].headers
    assert headers["Authorization"] == "Bearer entra-token-1"
    assert "api-key" not in {name.lower() for name in headers}
    assert calls >= 1


async def test_entra_id_token_refused_is_an_upstream_error(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    async def token_provider() -> str:
        return "expired-token"

    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, api_key=None), token_provider=token_provider)
    )
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    assert "expired-token" not in await response.text()


async def test_failing_token_provider_is_a_clear_upstream_error(
    aiohttp_client: AiohttpClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def token_provider() -> str:
        raise RuntimeError("no managed identity endpoint")

    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, api_key=None), token_provider=token_provider)
    )
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "upstream_error"
    assert "RuntimeError: no managed identity endpoint" in caplog.text
    assert "Traceback" not in caplog.text


@pytest.fixture
def compatible(settings: Settings, upstream: TestServer) -> Settings:
    return dataclasses.replace(
        settings, backend="openai", endpoint=str(upstream.make_url("/v1")), deployments=("llama3.1",)
    )


async def test_openai_compatible_server(
    aiohttp_client: AiohttpClient, compatible: Settings, simulator: Simulator
) -> None:
    client = await aiohttp_client(create_app(compatible))
    simulator.script("Plain dialect: ✓ no filters")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "Plain dialect: ✓ no filters"
    assert events[-1].data["finish_reason"] == "stop"
    record = simulator.requests[-1]
    assert record.path == "/v1/chat/completions"
    assert record.body["model"] == "llama3.1"
    assert record.headers["Authorization"] == f"Bearer {simulator.api_key}"

    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=3000)
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 429
    assert (await response.json())["error"]["retry_after"] == 3
    assert (await (await client.get("/healthz")).json())["mode"] == "openai"


async def test_abort_closes_an_openai_compatible_upstream(
    aiohttp_client: AiohttpClient, compatible: Settings, simulator: Simulator
) -> None:
    client = await aiohttp_client(create_app(compatible))
    simulator.fail_next(Fault.STALL, after_chunks=0)
    response = await client.post("/api/chat", json=chat_body())
    record = await asyncio.wait_for(simulator.next_request(), 5)
    await asyncio.wait_for(record.streaming.wait(), 5)
    response.close()
    await asyncio.wait_for(record.ended.wait(), 2)
    assert record.hung_up


@pytest.mark.parametrize(
    ("api_version", "path"),
    [("v1", "/openai/v1/chat/completions"), ("2024-10-21", "/openai/deployments/{}/chat/completions")],
    ids=["v1", "classic"],
)
async def test_several_deployments(
    make_client: ClientFactory, simulator: Simulator, api_version: str, path: str
) -> None:
    client = await make_client(deployments=("gpt-4o", "gpt-4o-mini"), api_version=api_version)
    await (await client.post("/api/chat", json=chat_body())).read()
    assert (simulator.requests[-1].path, simulator.requests[-1].body["model"]) == (path.format("gpt-4o"), "gpt-4o")
    await (await client.post("/api/chat", json={**chat_body(), "deployment": "gpt-4o-mini"})).read()
    assert simulator.requests[-1].path == path.format("gpt-4o-mini")
    assert simulator.requests[-1].body["model"] == "gpt-4o-mini"
    response = await client.post("/api/chat", json={**chat_body(), "deployment": "gpt-5"})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "unknown_deployment"
    assert "gpt-4o, gpt-4o-mini" in error["message"]
    assert len(simulator.requests) == 2


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            ("simulator", None, ("simulated", "simulated-reasoning", "simulated-responses", "simulated-async-filter")),
        ),
        (
            {
                "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
                "AZURE_OPENAI_API_KEY": "k",
                "AZURE_OPENAI_DEPLOYMENT": "gpt-4o, gpt-4o-mini",
            },
            ("azure", "https://r.openai.azure.com", ("gpt-4o", "gpt-4o-mini")),
        ),
        (
            {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "OPENAI_MODEL": "llama3.1"},
            ("openai", "http://127.0.0.1:11434/v1", ("llama3.1",)),
        ),
    ],
    ids=["simulator", "azure", "openai-compatible"],
)
def test_backend_from_environment(env: dict[str, str], expected: tuple[str, str | None, tuple[str, ...]]) -> None:
    settings = Settings.from_env(env)
    assert (settings.backend, settings.endpoint, settings.deployments) == expected


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "OPENAI_BASE_URL": "http://127.0.0.1/v1"}, "not both"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1/v1"}, "OPENAI_MODEL"),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": " , "},
            "AZURE_OPENAI_DEPLOYMENT",
        ),
    ],
    ids=["both", "no-model", "empty-deployments"],
)
def test_backend_settings_errors(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_keyless_without_azure_identity_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # as if not installed
    with pytest.raises(SettingsError, match=r"pip install '\.\[azure\]'"):
        Settings.from_env({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o"})


def test_dot_env_file_is_read_and_environment_wins(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHAT_READ_TIMEOUT=soon\nCHAT_PING_INTERVAL=nope\n")
    returncode, _, stderr = start_up(cwd=tmp_path, CHAT_READ_TIMEOUT="5")
    assert returncode == 2
    assert stderr.strip() == "error: CHAT_PING_INTERVAL must be a number, got 'nope'"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CHAT_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "CHAT_TRUSTED_PROXIES"),
        ({"CHAT_ALLOWED_ORIGINS": "https://tools.example/path"}, "CHAT_ALLOWED_ORIGINS"),
        ({"CHAT_MAX_TOTAL_CHARS": "10000"}, "CHAT_MAX_MESSAGE_CHARS (32000) must not exceed CHAT_MAX_TOTAL_CHARS"),
    ],
    ids=["proxy-name", "origin-with-path", "total-below-message"],
)
def test_access_settings_errors(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)):
        Settings.from_env(env)


def test_allowed_origins_are_written_as_browsers_send_them() -> None:
    settings = Settings.from_env({"CHAT_ALLOWED_ORIGINS": "https://Tools.Example:443, http://127.0.0.1:8080/"})
    assert settings.allowed_origins == ("https://tools.example", "http://127.0.0.1:8080")
