"""What an open upstream stream keeps: of its response's headers only those read while it streams,
none of its request's, and no transport read timer (the stream keeps its own deadlines)."""

from __future__ import annotations

import httpx2

from chat import Settings
from chat.internals.private_api import aiohttp_response_of
from chat.simulator import Simulator
from chat.upstream.client import HEADERS_READ_WHILE_STREAMING, create_client

BODY = {"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "Hello"}]}


async def test_an_open_stream_keeps_only_the_headers_it_reads_and_no_read_timer(
    settings: Settings, simulator: Simulator
) -> None:
    client = create_client(settings, settings.endpoints[0])
    try:
        for _ in range(2):  # the second on the connection the first gave back
            response = await client.post("/chat/completions", cast_to=httpx2.Response, body=BODY, stream=True)
            raw = aiohttp_response_of(response)
            assert raw is not None and raw.connection is not None
            assert response.headers["content-type"].startswith("text/event-stream")
            assert {name.lower() for name in response.headers} <= HEADERS_READ_WHILE_STREAMING
            assert {name.lower() for name in raw.headers} <= HEADERS_READ_WHILE_STREAMING
            assert len(raw.raw_headers) == len(raw.headers)
            assert not raw.request_info.headers
            protocol = raw.connection.protocol
            assert protocol is not None and protocol.read_timeout is None
            assert protocol._read_timeout_handle is None
            body = b"".join([chunk async for chunk in raw.content.iter_any()])
            assert body.endswith(b"data: [DONE]\n\n")
            await response.aclose()
        assert len(simulator.requests) == 2
        assert simulator.requests[0].headers["Authorization"] == f"Bearer {simulator.api_key}"  # sent whole
    finally:
        await client.close()
