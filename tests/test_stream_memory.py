"""What an open stream keeps: not its conversation once the upstream request is sent, and no more
than the header limit of request headers. (The figures are the benchmark's.)"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from chat.relay.request import MAX_HEADER_BYTES
from chat.simulator import Fault, Simulator
from chat.upstream.sse_decoder import MAX_EVENT_BYTES

from .sse_client import chat_body, read_events, text_of
from .typedefs import ClientFactory

CONVERSATION_CHARS = 30_000
WIDE = "🙂"  # four bytes a character, in UTF-8 and in a Python str


@pytest.mark.parametrize("dialect", ["chat", "responses"])
async def test_an_open_stream_keeps_no_copy_of_its_conversation(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    simulator.fail_next(Fault.STALL, after_chunks=0)  # headers, then silence: the stream stays open
    client = await make_client()
    conversation = [{"role": "user", "content": "Tell me " + WIDE * CONVERSATION_CHARS}]
    tracemalloc.start()
    try:
        async with client.post("/api/chat", json={"messages": conversation}) as response:
            assert response.status == 200  # the answer has begun: the upstream request is sent
            gc.collect()
            snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # The relay's copies of the conversation: the text it parsed, the request body it built and the
    # SDK's serialized bytes. Each is 120 KB; the simulator's and the test client's are elsewhere.
    relays = snapshot.filter_traces(
        [
            *(tracemalloc.Filter(True, pattern) for pattern in ("*/chat/*.py", "*/openai/*", "*/httpx2/*")),
            tracemalloc.Filter(False, "*/chat/simulator/*"),
        ]
    )
    held = {str(stat.traceback): stat.size for stat in relays.statistics("lineno") if stat.size > 10_000}
    assert held == {}


async def test_headers_beyond_the_limit_are_refused_before_anything_is_read(make_client: ClientFactory) -> None:
    client = await make_client()
    headers = {f"X-Filler-{number}": "h" * 8000 for number in range(MAX_HEADER_BYTES // 8000 + 1)}
    response = await client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}]}, headers=headers)
    assert response.status == 431
    assert (await response.json())["error"]["code"] == "headers_too_large"


@pytest.mark.parametrize("dialect", ["chat", "responses"])
async def test_an_upstream_line_without_end_fails_the_answer_and_the_relay_stays_small(
    make_client: ClientFactory, aiohttp_server: AiohttpServer, dialect: str
) -> None:
    """The attack: a model service (or whatever answers in its place) sends one line that never
    ends. The relay holds at most the decoder's cap of it, tells the client `upstream_error` and
    closes the upstream request, which the upstream sees as its writes failing."""
    endless = 8 * MAX_EVENT_BYTES  # what the upstream would send, if nobody hung up
    sent = 0
    closed = asyncio.Event()

    async def one_endless_line(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        first = (
            b'{"choices": [{"index": 0, "delta": {"content": "Hello"}}]}'
            if request.path.endswith("/chat/completions")
            else b'{"type": "response.output_text.delta", "delta": "Hello"}'
        )
        piece = b"x" * 65_536
        try:
            await response.write(b"data: " + first + b"\n\ndata: ")
            while sent < endless:
                await response.write(piece)
                sent += len(piece)
        except asyncio.CancelledError:  # as the test server does when the client has gone
            closed.set()
            raise
        except ConnectionResetError:
            closed.set()
        return response

    upstream = web.Application()
    upstream.router.add_post("/{path:.*}", one_endless_line)
    client = await make_client(endpoint=str((await aiohttp_server(upstream)).make_url("/")))
    tracemalloc.start()
    try:
        events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text_of(events) == "Hello"
    assert events[-1].name == "error" and events[-1].data["code"] == "upstream_error"
    assert "larger than 4 MiB" in events[-1].data["message"]
    await closed.wait()
    assert sent < endless
    # The line as far as the cap and one read, a copy or two of a read on its way (aiohttp's buffer,
    # the test server's), and no more: without the cap it was all of `endless`.
    assert peak < MAX_EVENT_BYTES + (2 << 20), peak
