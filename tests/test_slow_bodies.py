"""Bodies that trickle in hold no stream place: the body is read and checked before a place is taken."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.state.open_streams import open_streams_key

from .sse_client import chat_body, read_events

MAX_STREAMS = 3
TRICKLING = 5


async def test_trickling_bodies_do_not_take_the_stream_places(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    app = create_app(dataclasses.replace(settings, max_streams=MAX_STREAMS, body_timeout=30))
    arrived: asyncio.Queue[web.Request] = asyncio.Queue()

    @web.middleware
    async def seen(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """The handler runs on from here without waiting, up to its first read of the body."""
        if request.path == "/api/chat":
            arrived.put_nowait(request)
        return await handler(request)

    app.middlewares.append(seen)
    client = await aiohttp_client(app)
    writers = []
    try:
        for _ in range(TRICKLING):  # each sends its headers and the first bytes of its body, then waits
            _, writer = await asyncio.open_connection(client.host, client.port)
            writer.write(
                b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"messages": '
            )
            writers.append(writer)
        for _ in range(TRICKLING):
            await asyncio.wait_for(arrived.get(), 5)  # its handler now waits for the rest of the body
        response = await client.post("/api/chat", json=chat_body())
        assert response.status == 200, await response.text()  # not 429 server_busy
        events, _ = await read_events(response)
        assert events[-1].name == "done"
        assert len(app[open_streams_key]) == 0  # the trickling requests hold none
    finally:
        for writer in writers:
            writer.close()
