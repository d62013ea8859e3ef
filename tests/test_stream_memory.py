"""What an open stream keeps: not its conversation once the upstream request is sent, and no more
than the header limit of request headers. (The figures are the benchmark's.)"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from chat.relay.request import MAX_HEADER_BYTES
from chat.simulator import Fault, Simulator

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
