"""A client that leaves (Stop, closed tab, lost network) closes the upstream at once, and so does shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from pytest_aiohttp import AiohttpServer

from chat import Settings, create_app
from chat.run.process import run_options
from chat.simulator import Fault, Simulator

from .servers import running_server
from .sse_client import chat_body, parse_events, text_of


@pytest.fixture(params=["run-options", "test-server"])
async def base_url(
    request: pytest.FixtureRequest, settings: Settings, aiohttp_server: AiohttpServer
) -> AsyncIterator[str]:
    if request.param == "run-options":
        async with running_server(create_app(settings)) as url:
            yield url
    else:  # aiohttp's test server, which always cancels handlers
        server = await aiohttp_server(create_app(settings))
        yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize("dialect", ["chat", "responses"])
@pytest.mark.parametrize("phase", ["streaming", "silent"])
async def test_client_abort_closes_upstream(base_url: str, simulator: Simulator, phase: str) -> None:
    if phase == "streaming":
        simulator.token_delay = 0.005
        simulator.script("word " * 2000)
    else:
        simulator.fail_next(Fault.STALL, after_chunks=0)  # headers sent, then no token
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{base_url}/api/chat", json=chat_body())
        record = await asyncio.wait_for(simulator.next_request(), 5)
        await asyncio.wait_for(record.streaming.wait(), 5)
        if phase == "streaming":
            first = await response.content.readuntil(b"\n\n")
            while first.startswith(b"event: reasoning\n"):  # the Responses dialect's model thinks aloud first
                first = await response.content.readuntil(b"\n\n")
            assert first.startswith(b"event: delta\n")
        response.close()  # the browser's Stop: the connection goes away
        await asyncio.wait_for(record.ended.wait(), 2)
    assert record.hung_up
    assert not record.completed
    assert record.content_chunks_sent < 2000


async def test_without_handler_cancellation_a_silent_upstream_stays_open(
    settings: Settings, simulator: Simulator
) -> None:
    """Why `run_options` matters: the default aiohttp settings miss a client that left during silence."""
    simulator.fail_next(Fault.STALL, after_chunks=0)
    async with running_server(create_app(settings), handler_cancellation=False) as url:
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{url}/api/chat", json=chat_body())
            record = await asyncio.wait_for(simulator.next_request(), 5)
            await asyncio.wait_for(record.streaming.wait(), 5)
            response.close()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(record.ended.wait()), 0.5)
            assert not record.ended.is_set()
    assert run_options(settings)["handler_cancellation"] is True


async def test_shutdown_tells_open_streams_and_closes_upstream(settings: Settings, simulator: Simulator) -> None:
    settings = dataclasses.replace(settings, shutdown_timeout=5)
    for _ in range(3):
        simulator.script("first second third")
        simulator.fail_next(Fault.STALL, after_chunks=1)
    runner = web.AppRunner(create_app(settings), **run_options(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = "http://{}:{}/api/chat".format(*runner.addresses[0][:2])
    async with aiohttp.ClientSession() as session:
        responses = [await session.post(url, json=chat_body()) for _ in range(3)]
        for response in responses:
            assert (await response.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(runner.cleanup(), 5)
        took = loop.time() - started
        bodies = [(await response.read()).decode() for response in responses]
    for body in bodies:
        events, _ = parse_events('event: delta\ndata: {"content": "first"}\n\n' + body)
        assert text_of(events) == "first"
        assert events[-1].name == "error"
        assert events[-1].data["code"] == "server_shutdown"
    assert all(record.hung_up for record in simulator.requests)
    assert took < settings.shutdown_timeout  # ended politely, not by aiohttp's own timeout


async def test_without_handler_cancellation_a_streaming_upstream_closes_at_the_next_write(
    settings: Settings, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An embedding host that runs without cancellation still stops paying, one token later."""
    caplog.set_level("INFO")
    simulator.token_delay = 0.005
    simulator.script("word " * 2000)
    async with running_server(create_app(settings), handler_cancellation=False) as url:
        async with aiohttp.ClientSession() as session:
            response = await session.post(f"{url}/api/chat", json=chat_body())
            record = await asyncio.wait_for(simulator.next_request(), 5)
            assert (await response.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
            response.close()
            await asyncio.wait_for(record.ended.wait(), 5)
    assert record.hung_up
    assert not record.completed
    relay_lines = [r.getMessage() for r in caplog.records if r.name == "chat.relay"]
    assert relay_lines and relay_lines[0].startswith('chat outcome="client_gone"')
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("phase", ["streaming", "connecting"])
async def test_shutdown_that_the_relay_answers_leaves_no_cancellation_pending(
    settings: Settings, simulator: Simulator, aiohttp_server: AiohttpServer, phase: str
) -> None:
    """The relay answers shutdown's cancellation (it tells the client) instead of letting it end the
    task, so it must also undo it: code around the handler in the same task (a middleware, an
    enclosing asyncio.timeout or TaskGroup) would otherwise take it for a cancellation still pending."""
    pending: list[int] = []

    @web.middleware
    async def probe(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        task = asyncio.current_task()
        assert task is not None
        pending.append(task.cancelling())
        return response

    arrived = asyncio.Event()

    async def never_answers(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    if phase == "streaming":
        simulator.script("first second third")
        simulator.fail_next(Fault.STALL, after_chunks=1)
    else:  # the upstream request is made, and no answer has begun
        silent = web.Application()
        silent.router.add_post("/{path:.*}", never_answers)
        settings = dataclasses.replace(settings, endpoint=str((await aiohttp_server(silent)).make_url("/")))
    app = create_app(settings)
    app.middlewares.append(probe)
    async with aiohttp.ClientSession() as session:
        async with running_server(app) as url:
            asking = asyncio.create_task(session.post(f"{url}/api/chat", json=chat_body()))
            if phase == "streaming":
                response = await asyncio.wait_for(asking, 5)
                assert (await response.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
            else:
                await asyncio.wait_for(arrived.wait(), 5)
        response = await asyncio.wait_for(asking, 5)
        body = await asyncio.wait_for(response.read(), 5)
    assert b'"server_shutdown"' in body
    assert response.status == (200 if phase == "streaming" else 503)
    assert pending == [0]
