from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from chat import Settings, create_app
from chat.run import cli
from chat.run.children import environment_without_settings
from chat.simulator import Simulator

from .postgres_server import PostgresServer
from .redis_server import RedisServer
from .typedefs import Client, ClientFactory, StartUp

# Tests that start a redis-server (once per worker) are slow too: `pytest -m "not slow"` starts no
# process and no browser (the browser tests are marked in browser/conftest.py).
PROCESS_FIXTURES = {"redis_server", "redis_session", "postgres_session"}


# After browser/conftest.py has marked its tests (a deeper conftest's hook runs first), before -m selects.
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # The slow tests start first, the browser's after the others (the longest are the soak, the
    # benchmark's smoke run and the processes), so that no worker is left running one alone at the end.
    items.sort(
        key=lambda item: (item.get_closest_marker("slow") is None, item.get_closest_marker("browser") is not None)
    )


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
async def upstream(aiohttp_server: AiohttpServer, simulator: Simulator) -> TestServer:
    return await aiohttp_server(simulator.app)


@pytest.fixture
def settings(upstream: TestServer, simulator: Simulator, dialect: str, tmp_path: Path) -> Settings:
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
        data_dir=str(tmp_path / "data"),  # conversations of apps with sign-in: each test its own database
    )


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, settings: Settings) -> ClientFactory:
    """A test client for the app built from `settings`, with any field changed."""

    async def make(**changes: Any) -> Client:
        return await aiohttp_client(create_app(dataclasses.replace(settings, **changes)))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> Client:
    return await make_client()


def _serve_nothing(*args: object, **kwargs: object) -> None:
    raise AssertionError("the server was about to serve: its settings were accepted")


@pytest.fixture
def start_up(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> StartUp:
    """`python server.py ARGS` for a start-up that is meant to stop, as `server.main(ARGS)` in this
    process: only `env` among the variables a server reads, run in a fresh directory (or `cwd`, which
    may hold a .env). Exit code, stdout, stderr. Signals and serving need a real process (processes.py)."""

    def run(*args: str, cwd: Path | None = None, **env: str) -> tuple[int, str, str]:
        with monkeypatch.context() as patch:
            for name in os.environ.keys() - environment_without_settings().keys():
                patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            patch.chdir(cwd or tmp_path)
            patch.setattr(web, "run_app", _serve_nothing)
            capsys.readouterr()
            returncode = cli.main(list(args))
            stdout, stderr = capsys.readouterr()
        return returncode, stdout, stderr

    return run


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session's tests of shared state."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(redis_session: RedisServer) -> Iterator[RedisServer]:
    """The session's redis-server, empty, and running again after a test that stopped it."""
    redis_session.flush()
    try:
        yield redis_session
    finally:
        if not redis_session.running:
            redis_session.start()


_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_session() -> Iterator[PostgresServer]:
    # Not under pytest's own temporary directory: its parents are closed to the `postgres` user.
    directory = Path(tempfile.mkdtemp(prefix="chat-postgres-"))
    server = PostgresServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def database_url(postgres_session: PostgresServer) -> str:
    """A new, empty database of the session's server (the whole cluster goes at the session's end)."""
    name = f"test_{next(_numbers)}"  # each pytest worker has a server of its own
    admin = await asyncpg.connect(postgres_session.url(), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return postgres_session.url(name)
