"""Each private name of a library the server uses (chat/internals/private_api.py), checked against
the installed aiohttp, asyncio, httpx2 and openai SDK: an upgrade that moves one fails here, by name."""

from __future__ import annotations

import asyncio
import errno
import inspect

import aiohttp
import httpx2
import openai
import pytest
from aiohttp import web

from chat import Settings, create_app
from chat.edge.connections import ChatConnection, ChatServer
from chat.internals import private_api
from chat.simulator import Simulator
from chat.upstream import create_client
from chat.upstream.stream import body_chunks


async def test_every_runner_serves_the_server_made_through_the_hook(settings: Settings) -> None:
    """`web.AppRunner` (which `web.run_app`, the test server and gunicorn's worker use) makes its
    server through `Application._make_handler`, with the keywords the hook passes on."""
    parameters = inspect.signature(web.Application._make_handler).parameters
    assert [p.kind for p in parameters.values()][-1] is inspect.Parameter.VAR_KEYWORD
    assert parameters["loop"].kind is inspect.Parameter.KEYWORD_ONLY
    runner = web.AppRunner(create_app(settings), keepalive_timeout=7)
    await runner.setup()
    try:
        assert isinstance(runner.server, ChatServer)
        assert isinstance(runner.server(), ChatConnection)
    finally:
        await runner.cleanup()


async def test_a_server_tells_the_loop_and_options_of_its_connections() -> None:
    loop = asyncio.get_running_loop()

    async def answer(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(answer, loop=loop, keepalive_timeout=7, tcp_keepalive=False)
    assert private_api.connection_arguments(server) == (loop, {"keepalive_timeout": 7, "tcp_keepalive": False})
    connection = web.RequestHandler(server, loop=loop, keepalive_timeout=7)
    assert private_api.request_in_progress(connection) is False


def test_a_connection_answers_a_request_it_cannot_read_from_handle_error() -> None:
    """ChatConnection overrides `handle_error`: the one place aiohttp's parser errors are answered."""
    assert list(inspect.signature(web.RequestHandler.handle_error).parameters) == [
        "self",
        "request",
        "status",
        "exc",
        "message",
    ]


def test_asyncio_accept_loop_is_where_the_patch_reaches_unless_asyncio_stops_on_its_own() -> None:
    loop = asyncio.SelectorEventLoop()
    loop.set_exception_handler(lambda loop, context: None)
    try:
        assert list(inspect.signature(loop._accept_connection).parameters)[:5] == [  # type: ignore[attr-defined]
            "protocol_factory",
            "sock",
            "sslcontext",
            "server",
            "backlog",
        ]
        unpatched = private_api.accepts_in_one_wake_up(loop, backlog=10)
        assert private_api.accept_loop_stops_at_shortage() is (unpatched == 1)
        with private_api.accept_stops_at_shortage(loop, frozenset({errno.EMFILE})):
            assert private_api.accepts_in_one_wake_up(loop, backlog=10) == 1
        assert "_accept_connection" not in vars(loop)  # asyncio's own again
    finally:
        loop.close()


@pytest.mark.skipif(private_api.accept_loop_stops_at_shortage(), reason="this asyncio stops at a shortage itself")
def test_the_patch_applies_only_where_asyncio_goes_on_accepting() -> None:
    loop = asyncio.SelectorEventLoop()
    loop.set_exception_handler(lambda loop, context: None)
    try:
        assert private_api.accepts_in_one_wake_up(loop, backlog=10) == 10
        with private_api.accept_stops_at_shortage(loop, frozenset({errno.EMFILE})):
            assert "_accept_connection" in vars(loop)
    finally:
        loop.close()


async def test_upstream_body_is_read_straight_from_aiohttp(settings: Settings, simulator: Simulator) -> None:
    """The lean read path is taken; if an SDK update hides it, the relay still works but this says so."""
    client = create_client(settings, settings.endpoints[0])
    try:
        body = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        response = await client.post("/chat/completions", cast_to=httpx2.Response, body=body, stream=True)
        try:
            assert isinstance(private_api.aiohttp_response_of(response), aiohttp.ClientResponse)
            chunks = body_chunks(response)
            assert isinstance(chunks, aiohttp.streams.AsyncStreamIterator)
            received = b"".join([chunk async for chunk in chunks])
        finally:
            await response.aclose()
        assert received.endswith(b"data: [DONE]\n\n")
    finally:
        await client.close()


async def test_the_sdk_tells_what_its_requests_look_like_and_types_a_refusal() -> None:
    """What the direct requests take from the SDK (chat/upstream/direct_post.py): the URL and the
    headers of a POST, the key among them, and the typed error of a refusal."""
    client = openai.AsyncAzureOpenAI(azure_endpoint="https://name.invalid", api_key="the-key", api_version="2024-10-21")
    url, headers = await private_api.sdk_request_target(client, "/chat/completions", "gpt 4o")
    assert url == "https://name.invalid/openai/deployments/gpt%204o/chat/completions?api-version=2024-10-21"
    assert headers["api-key"] == "the-key"
    assert headers["content-type"] == "application/json"
    assert "content-length" not in {name.lower() for name in headers}
    refusal = httpx2.Response(
        429, json={"error": {"code": "429", "message": "slow down"}}, request=httpx2.Request("POST", url)
    )
    error = private_api.sdk_status_error(client, refusal)
    assert isinstance(error, openai.RateLimitError)
    assert "slow down" in error.message
    await client.close()
