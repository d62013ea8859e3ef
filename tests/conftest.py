from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from chat import Settings, create_app
from chat.simulator import Simulator

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def dialect() -> str:
    """The upstream API the app speaks: `chat` (Chat Completions), or `responses` where a test
    parametrizes it, so that one test proves both dialects."""
    return "chat"


@pytest.fixture
def simulator(dialect: str) -> Simulator:
    # A Responses-only model for the Responses dialect: Chat Completions would refuse it.
    return Simulator(record=True, profile="responses" if dialect == "responses" else "gpt-4o")


@pytest.fixture
async def upstream(aiohttp_server: Callable[..., Awaitable[TestServer]], simulator: Simulator) -> TestServer:
    return await aiohttp_server(simulator.app)


@pytest.fixture
def settings(upstream: TestServer, simulator: Simulator, dialect: str) -> Settings:
    return Settings(
        backend="azure",
        endpoint=str(upstream.make_url("/")),
        api_key=simulator.api_key,
        deployments=("gpt-test",),
        responses_deployments=("gpt-test",) if dialect == "responses" else (),
        max_retries=0,
        read_timeout=10,
        # Limits have tests of their own; elsewhere they would only get in the way of load.
        max_streams_per_client=10_000,
        requests_per_minute=0,
    )


@pytest.fixture
def make_client(aiohttp_client: ClientFactory, settings: Settings) -> ClientFactory:
    """A test client for the app built from `settings`, with any field changed."""

    async def make(**changes: object) -> TestClient[web.Request, web.Application]:
        return await aiohttp_client(create_app(dataclasses.replace(settings, **changes)))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[web.Request, web.Application]:
    return await make_client()
