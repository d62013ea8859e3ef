"""Resumable answers in one process: the `answer` event and numbered events, a reader that comes back
gets exactly the rest, Stop, the resume window closing an answer nobody reads, and bad input."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import aiohttp
import pytest

from chat.answers import running
from chat.simulator import Fault, Simulator

from .typedefs import Client, ClientFactory

ANSWER = " ".join(f"w{n}" for n in range(60))


@dataclasses.dataclass
class Numbered:
    number: int | None
    name: str
    data: Any


def parse_numbered(body: str) -> list[Numbered]:
    """Our event stream, with its `id:` lines: each frame is an optional id, one event, one data line."""
    events = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        number = None
        if lines[0].startswith("id: "):
            number = int(lines.pop(0)[4:])
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append(Numbered(number, lines[0][7:], json.loads(lines[1][6:])))
    return events


def text_of(events: list[Numbered]) -> str:
    return "".join(event.data["content"] for event in events if event.name == "delta")


async def read_frames(response: aiohttp.ClientResponse, count: int) -> list[Numbered]:
    """The first `count` events of a response still streaming (pings skipped)."""
    events: list[Numbered] = []
    while len(events) < count:
        block = (await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)).decode()
        events.extend(parse_numbered(block))
    return events


def resumable(text: str = "Hello") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "resumable": True}


async def started(client: Client, simulator: Simulator) -> tuple[aiohttp.ClientResponse, Numbered]:
    response = await client.post("/api/chat", json=resumable())
    assert response.status == 200, await response.text()
    (first,) = await read_frames(response, 1)
    assert first.name == "answer" and first.number is None
    assert response.headers["X-Answer-Id"] == first.data["id"]
    return response, first


def reader_headers(first: Numbered, last: int | None = None) -> dict[str, str]:
    headers = {"X-Answer-Secret": first.data["secret"]}
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    return headers


@pytest.mark.parametrize("dialect", ["chat", "responses"])
async def test_a_reader_that_comes_back_gets_exactly_the_rest(client: Client, simulator: Simulator) -> None:
    simulator.token_delay = 0.005
    simulator.script(ANSWER)
    response, first = await started(client, simulator)
    seen = await read_frames(response, 3)
    response.close()  # the connection drops mid-answer
    last = seen[-1].number
    assert [event.number for event in seen] == [1, 2, 3]
    again = await client.get(f"/api/answers/{first.data['id']}", headers=reader_headers(first, last))
    assert again.status == 200
    rest = parse_numbered(await again.text())
    assert [event.number for event in rest] == list(range(4, 4 + len(rest)))
    assert rest[-1].name == "done" and rest[-1].data["finish_reason"] == "stop"
    assert text_of(seen + rest) == ANSWER
    assert len(simulator.requests) == 1
    # A second reader from the start gets all of it, `?after=` as well as the header.
    whole = await client.get(f"/api/answers/{first.data['id']}?after=0", headers=reader_headers(first))
    assert text_of(parse_numbered(await whole.text())) == ANSWER


async def test_without_resumable_nothing_changes(client: Client, simulator: Simulator) -> None:
    simulator.script("one two")
    response = await client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hello"}]})
    body = await response.text()
    assert "X-Answer-Id" not in response.headers
    assert "id: " not in body and "event: answer" not in body
    events = parse_numbered(body)
    assert text_of(events) == "one two" and events[-1].name == "done"
    assert all(event.number is None for event in events)


async def test_stop_ends_it_for_every_reader_and_closes_the_upstream(client: Client, simulator: Simulator) -> None:
    simulator.fail_next(Fault.STALL, after_chunks=2)
    response, first = await started(client, simulator)
    record = simulator.requests[0]
    await read_frames(response, 1)
    other = await client.get(f"/api/answers/{first.data['id']}", headers=reader_headers(first))
    stop = await client.post(f"/api/answers/{first.data['id']}/stop", headers=reader_headers(first))
    assert stop.status == 204
    await asyncio.wait_for(record.ended.wait(), 2)
    assert record.hung_up
    for reader in (response, other):
        events = parse_numbered((await reader.read()).decode())
        done = events[-1]
        assert done.name == "done" and done.data["finish_reason"] == "stopped"
        assert done.data["usage"]["estimated"] is True and done.data["usage"]["prompt_tokens"] > 0
    # Stopped again once it has ended: 204, and nothing else happens.
    again = await client.post(f"/api/answers/{first.data['id']}/stop", headers=reader_headers(first))
    assert again.status == 204
    assert len(simulator.requests) == 1


async def test_nobody_back_within_the_window_closes_the_upstream(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(resume_window=0.3)
    simulator.fail_next(Fault.STALL, after_chunks=2)
    response, first = await started(client, simulator)
    record = simulator.requests[0]
    await read_frames(response, 1)
    loop = asyncio.get_running_loop()
    left = loop.time()
    response.close()
    await asyncio.wait_for(record.ended.wait(), 3)
    waited = loop.time() - left
    assert record.hung_up and 0.25 <= waited < 1.3, waited
    # Abandoned: counted as a client that left (usage and the abandoned tokens), and gone.
    metrics = await (await client.get("/metrics")).text()
    assert 'chat_requests_total{outcome="client_gone"} 1.0' in metrics
    assert "chat_abandoned_output_tokens_total" in metrics
    gone = await client.get(f"/api/answers/{first.data['id']}", headers=reader_headers(first))
    assert gone.status == 404


async def test_a_reader_back_in_time_keeps_it_going(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(resume_window=0.2)
    simulator.token_delay = 0.01
    simulator.script(ANSWER)
    response, first = await started(client, simulator)
    seen = await read_frames(response, 2)
    response.close()
    again = await client.get(f"/api/answers/{first.data['id']}", headers=reader_headers(first, seen[-1].number))
    rest = parse_numbered(await again.text())  # 60 tokens at 10 ms: longer than the window
    assert text_of(seen + rest) == ANSWER and rest[-1].name == "done"


async def test_a_reasoning_model_thinking_while_nobody_reads(make_client: ClientFactory, simulator: Simulator) -> None:
    simulator.profile = "reasoning"
    simulator.thinking_time = 0.5
    client = await make_client(resume_window=0.2)
    simulator.script("thought through")
    response, first = await started(client, simulator)
    record = simulator.requests[0]
    response.close()  # while the model thinks in silence
    back = await client.get(f"/api/answers/{first.data['id']}", headers=reader_headers(first))
    events = parse_numbered(await back.text())
    assert text_of(events) == "thought through" and events[-1].data["usage"]["completion_tokens_details"]
    # The next one, left alone while it thinks: closed at the window's end, before any text.
    simulator.script("never read")
    response, first = await started(client, simulator)
    record = simulator.requests[1]
    response.close()
    await asyncio.wait_for(record.ended.wait(), 2)
    assert record.hung_up and record.content_chunks_sent == 0


async def test_bad_input(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_streams_per_client=2)
    simulator.fail_next(Fault.STALL, after_chunks=1)
    response, first = await started(client, simulator)
    url = f"/api/answers/{first.data['id']}"
    # Unknown id, wrong secret, no secret: the same 404.
    answers = [
        await client.get("/api/answers/nope", headers=reader_headers(first)),
        await client.get(url, headers={"X-Answer-Secret": "wrong"}),
        await client.get(url),
        await client.post(f"{url}/stop", headers={"X-Answer-Secret": "wrong"}),
    ]
    bodies = [await answer.json() for answer in answers]
    assert {answer.status for answer in answers} == {404}
    assert all(body == bodies[0] for body in bodies) and bodies[0]["error"]["code"] == "answer_not_found"
    for value in ("abc", "-1", "1.5", "", "1e3"):
        refused = await client.get(url, headers=reader_headers(first) | {"Last-Event-ID": value})
        assert refused.status == 400, value
    refused = await client.get(f"{url}?after=x", headers=reader_headers(first))
    assert refused.status == 400
    # Beyond the last: waits for the next (here the stalled answer sends none), then more readers than allowed.
    readers = [await client.get(url, headers=reader_headers(first, 50)) for _ in range(2)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(readers[0].content.readuntil(b"\n\n"), 0.2)
    third = await client.get(url, headers=reader_headers(first))
    assert third.status == 429 and (await third.json())["error"]["code"] == "too_many_streams"
    body = await client.post("/api/chat", json=resumable() | {"resumable": "yes"})
    assert body.status == 400
    for reader in (*readers, response):
        reader.close()
    # Ended here: the upstream server is torn down before the app, and would wait for it.
    assert (await client.post(f"{url}/stop", headers=reader_headers(first))).status == 204
    await asyncio.wait_for(simulator.requests[0].ended.wait(), 2)


async def test_a_beacon_stops_it(client: Client, simulator: Simulator) -> None:
    """`navigator.sendBeacon` sends a form body and no headers of its own."""
    simulator.fail_next(Fault.STALL, after_chunks=1)
    response, first = await started(client, simulator)
    record = simulator.requests[0]
    stop = await client.post(f"/api/answers/{first.data['id']}/stop", data={"secret": first.data["secret"]})
    assert stop.status == 204
    await asyncio.wait_for(record.ended.wait(), 2)
    response.close()


async def test_a_page_that_says_it_leaves_gets_a_short_grace(
    client: Client, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `pagehide` beacon: a reload comes back within the grace and goes on, a closed tab does not."""
    monkeypatch.setattr(running, "LEAVING_GRACE", 0.3)
    simulator.fail_next(Fault.STALL, after_chunks=1, times=2)
    for comes_back in (True, False):
        response, first = await started(client, simulator)
        record = simulator.requests[-1]
        url = f"/api/answers/{first.data['id']}"
        beacon = await client.post(f"{url}/stop", data={"secret": first.data["secret"], "leaving": "1"})
        assert beacon.status == 204
        response.close()
        if comes_back:
            again = await client.get(url, headers=reader_headers(first))
            with pytest.raises(TimeoutError):  # the grace passes, the answer goes on (30 s window)
                await asyncio.wait_for(asyncio.shield(record.ended.wait()), 0.6)
            assert (await client.post(f"{url}/stop", headers=reader_headers(first))).status == 204
            again.close()
        loop = asyncio.get_running_loop()
        left = loop.time()
        await asyncio.wait_for(record.ended.wait(), 2)
        assert record.hung_up and (comes_back or loop.time() - left < 1)
