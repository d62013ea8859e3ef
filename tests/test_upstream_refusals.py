"""A refusal of the model service the administrator can fix names the setting to change, through
the real SDK over real HTTP: a refused key, a deployment that does not exist, a host name that does
not resolve. No key reaches a message."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.simulator import Fault, Simulator

from .sse_client import chat_body
from .typedefs import ClientFactory

WRONG_KEY = "wrong-secret-key-4711"


async def _error(response: ClientResponse) -> tuple[int, dict[str, Any]]:
    return response.status, (await response.json())["error"]


@pytest.fixture
def compatible(settings: Settings, upstream: TestServer) -> Settings:
    return dataclasses.replace(
        settings, backend="openai", endpoint=str(upstream.make_url("/v1")), deployments=("llama3.1",)
    )


@pytest.fixture
def endpoints_file(settings: Settings, upstream: TestServer, tmp_path: Path) -> Settings:
    path = tmp_path / "endpoints.toml"
    path.write_text(f'[[endpoints]]\nurl = "{upstream.make_url("/")}"\napi_key = "{WRONG_KEY}"\n')
    return dataclasses.replace(settings, endpoint=None, api_key=None, endpoints_file=str(path))


@pytest.mark.parametrize(
    ("backend", "setting"),
    [
        ("azure", "AZURE_OPENAI_API_KEY"),
        ("openai", "OPENAI_API_KEY"),
        ("endpoints_file", "the endpoint's api_key or api_key_env in CHAT_ENDPOINTS_FILE"),
    ],
)
async def test_a_refused_key_names_the_key_setting(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    compatible: Settings,
    endpoints_file: Settings,
    backend: str,
    setting: str,
) -> None:
    configured = {"azure": settings, "openai": compatible, "endpoints_file": endpoints_file}[backend]
    client = await aiohttp_client(create_app(dataclasses.replace(configured, api_key=configured.api_key and WRONG_KEY)))
    response = await client.post("/api/chat", json=chat_body())
    body = await response.text()
    assert response.status == 502
    error = (await response.json())["error"]
    assert error["code"] == "upstream_error"
    assert error["message"] == (
        f"The server's credentials for the model service were refused. Ask the administrator to check {setting}."
    )
    assert WRONG_KEY not in body


async def test_a_refused_entra_id_token_names_the_identity(aiohttp_client: AiohttpClient, settings: Settings) -> None:
    async def token_provider() -> str:
        return "expired-token"

    client = await aiohttp_client(
        create_app(dataclasses.replace(settings, api_key=None), token_provider=token_provider)
    )
    status, error = await _error(await client.post("/api/chat", json=chat_body()))
    assert status == 502
    assert "Entra ID identity" in error["message"] and "AZURE_OPENAI_API_KEY" in error["message"]
    assert "expired-token" not in error["message"]


@pytest.mark.parametrize(("backend", "setting"), [("azure", "AZURE_OPENAI_DEPLOYMENT"), ("openai", "OPENAI_MODEL")])
async def test_a_missing_deployment_names_the_deployment_setting(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    compatible: Settings,
    simulator: Simulator,
    backend: str,
    setting: str,
) -> None:
    configured = settings if backend == "azure" else compatible
    client = await aiohttp_client(create_app(configured))
    simulator.fail_next(Fault.DEPLOYMENT_NOT_FOUND)
    status, error = await _error(await client.post("/api/chat", json=chat_body()))
    assert status == 502
    assert error["code"] == "upstream_error"
    deployment = configured.deployments[0]
    assert error["message"] == (
        f"The model deployment {deployment!r} was not found. Ask the administrator to check {setting}."
    )


async def test_a_plain_404_names_the_endpoint_too(aiohttp_client: AiohttpClient, compatible: Settings) -> None:
    """An OpenAI-compatible URL without its `/v1`: every path is a 404 that names no deployment."""
    base = compatible.endpoint
    assert base is not None and base.endswith("/v1")
    client = await aiohttp_client(create_app(dataclasses.replace(compatible, endpoint=base.removesuffix("/v1"))))
    status, error = await _error(await client.post("/api/chat", json=chat_body()))
    assert status == 502
    assert error["message"].endswith("Ask the administrator to check OPENAI_MODEL and OPENAI_BASE_URL.")


async def test_a_host_that_does_not_resolve_is_said_so_at_once(make_client: ClientFactory) -> None:
    """Not `upstream_timeout` after the SDK's retries: its name cannot be resolved, retries will not help."""
    client = await make_client(endpoint="https://nowhere.invalid/", max_retries=2)
    started = time.monotonic()
    status, error = await _error(await client.post("/api/chat", json=chat_body()))
    elapsed = time.monotonic() - started
    assert status == 502
    assert error["code"] == "upstream_unavailable"
    assert error["message"] == (
        "The model service's host name nowhere.invalid cannot be resolved. "
        "Ask the administrator to check AZURE_OPENAI_ENDPOINT."
    )
    assert elapsed < 0.9, f"{elapsed:.2f} s: the SDK retried a name that does not resolve"
