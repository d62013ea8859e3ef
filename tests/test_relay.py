"""The relay end to end: real SDK, real HTTP on loopback, the simulated Azure endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable

import pytest

from chat import Settings
from chat.simulator import Fault, Simulator
from chat.simulator.answers import answer_for, tokens

from .sse_client import chat_body, parse_events, read_events, text_of
from .typedefs import Client, ClientFactory

BOTH_DIALECTS = pytest.mark.parametrize("dialect", ["chat", "responses"])

LONG_TEXT = (
    "Ünïcödé façade — naïve café. 日本語のテキストと中文字符。한국어 문장. Ελληνικά και Русский текст.\n"
    "Emoji: 🎉🚀👩‍👩‍👧‍👦 🇺🇦 ❤️‍🔥; quotes: \"double\", 'single', «guillemets», „low“.\n\n"
    '```json\n{"key": "value with \\"escapes\\" and \\\\ backslash"}\n```\n'
    "Tabs\tand\r\ncarriage returns, data: lines that look like SSE\n\nevent: fake\n"
) * 40


@BOTH_DIALECTS
async def test_long_multibyte_answer_is_relayed_exactly(client: Client, simulator: Simulator) -> None:
    simulator.split_frames = True  # every upstream frame arrives in two writes, cut mid-frame
    simulator.script(LONG_TEXT)
    response = await client.post("/api/chat", json=chat_body("Tell me everything"))
    assert response.status == 200
    events, _ = await read_events(response)
    assert text_of(events) == LONG_TEXT
    names = [event.name for event in events[:-1]]
    thoughts = names.count("reasoning")  # the Responses dialect's model summarises its reasoning first
    assert names == ["reasoning"] * thoughts + ["delta"] * (len(names) - thoughts)
    done = events[-1]
    assert done.name == "done"
    assert done.data["finish_reason"] == "stop"
    reasoning_tokens = done.data["usage"].get("completion_tokens_details", {}).get("reasoning_tokens", 0)
    assert done.data["usage"]["completion_tokens"] - reasoning_tokens == len(tokens(LONG_TEXT))
    assert done.data["usage"]["total_tokens"] > done.data["usage"]["completion_tokens"]


async def test_frames_on_the_wire_are_exact(client: Client, simulator: Simulator) -> None:
    simulator.script('Hi "you"\n')
    conversation = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hello"}]}
    body = await (await client.post("/api/chat", json=conversation)).read()
    deltas, done = body.rsplit(b"event: done\n", 1)
    # Upstream reads may carry several chunks; each read leaves as one frame.
    frames = re.findall(rb'event: delta\ndata: (\{"content":"(?:[^"\\]|\\.)+"\})\n\n', deltas)
    assert b"".join(b"event: delta\ndata: " + data + b"\n\n" for data in frames) == deltas
    assert "".join(json.loads(data)["content"] for data in frames) == 'Hi "you"\n'
    assert (
        done == b'data: {"finish_reason":"stop","usage":{"completion_tokens":3,"prompt_tokens":2,"total_tokens":5}}\n\n'
    )


async def test_stream_headers_and_never_compressed(client: Client) -> None:
    response = await client.post("/api/chat", json=chat_body(), headers={"Accept-Encoding": "gzip, br"})
    await response.read()
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response.headers


async def test_system_prompt_added_only_when_missing(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(system_prompt="Be brief.")
    await (await client.post("/api/chat", json=chat_body("one"))).read()
    sent = simulator.requests[-1].body
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one"}]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "gpt-test"

    own = {"messages": [{"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "two"}]}
    await (await client.post("/api/chat", json=own)).read()
    assert simulator.requests[-1].body["messages"] == own["messages"]


async def test_simulator_answer_reflects_the_question(client: Client, simulator: Simulator) -> None:
    response = await client.post("/api/chat", json=chat_body("What is a relay?"))
    events, _ = await read_events(response)
    assert text_of(events) == answer_for("What is a relay?")
    assert text_of(events).startswith("You asked: *What is a relay?*")
    assert "```python" in text_of(events)


@BOTH_DIALECTS
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault.RATE_LIMITED, 429, "rate_limited"),
        (Fault.SERVER_ERROR, 502, "upstream_unavailable"),
        (Fault.PROMPT_FILTERED, 400, "content_filter"),
    ],
    ids=["429", "500", "prompt-filtered"],
)
async def test_fault_before_stream_is_an_http_error(
    client: Client, simulator: Simulator, fault: Fault, status: int, code: str
) -> None:
    simulator.fail_next(fault, retry_after_ms=7000)
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == status
    error = (await response.json())["error"]
    assert error["code"] == code
    assert error["message"]
    if fault is Fault.RATE_LIMITED:
        assert response.headers["Retry-After"] == "7"
        assert error["retry_after"] == 7
    await _next_request_works(client)


@BOTH_DIALECTS
@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.ERROR_EVENT, "upstream_error"),
        (Fault.DROP, "upstream_unavailable"),
        (Fault.GARBAGE, "upstream_error"),
        (Fault.ODD_CHUNK, "upstream_error"),
    ],
    ids=["error-event", "dropped", "garbage", "odd-chunk"],
)
async def test_fault_mid_stream_is_an_error_event(
    client: Client, simulator: Simulator, fault: Fault, code: str
) -> None:
    simulator.script("one two three four five six seven")
    simulator.fail_next(fault, after_chunks=3)
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 200
    events, _ = await read_events(response)
    assert text_of(events) == "one two three"
    assert events[-1].name == "error"
    assert events[-1].data["code"] == code
    assert "done" not in [event.name for event in events]
    await _next_request_works(client)


@BOTH_DIALECTS
async def test_content_filter_finish_ends_with_done(client: Client, simulator: Simulator) -> None:
    simulator.script("one two three four")
    simulator.fail_next(Fault.CONTENT_FILTER_FINISH, after_chunks=2)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "one two"
    assert events[-1].name == "done"
    assert events[-1].data["finish_reason"] == "content_filter"


@BOTH_DIALECTS
async def test_stalled_upstream_ends_with_timeout_and_pings_meanwhile(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(read_timeout=0.4, ping_interval=0.05)
    simulator.script("one two three")
    simulator.fail_next(Fault.STALL, after_chunks=1)
    response = await client.post("/api/chat", json=chat_body())
    events, comments = await read_events(response)
    assert text_of(events) == "one"
    assert events[-1].name == "error"
    assert events[-1].data["code"] == "upstream_timeout"
    assert ": ping" in comments
    record = simulator.requests[-1]
    await asyncio.wait_for(record.ended.wait(), 5)
    assert record.hung_up


async def test_sdk_retries_a_brief_rate_limit(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_retries=2)
    simulator.fail_next(Fault.RATE_LIMITED, retry_after_ms=10)
    simulator.script("after retry")
    events, _ = await read_events(await client.post("/api/chat", json=chat_body()))
    assert text_of(events) == "after retry"
    assert len(simulator.requests) == 2


async def test_rejected_key_is_an_upstream_error_without_the_key(make_client: ClientFactory) -> None:
    client = await make_client(api_key="wrong-secret-key")
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    body = await response.text()
    assert '"code":"upstream_error"' in body
    assert "wrong-secret-key" not in body


async def test_unreachable_upstream(make_client: ClientFactory, unused_tcp_port_factory: Callable[[], int]) -> None:
    client = await make_client(endpoint=f"http://127.0.0.1:{unused_tcp_port_factory()}/")
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "upstream_unavailable"


async def test_two_hundred_concurrent_streams_are_exact(client: Client, simulator: Simulator) -> None:
    async def one(number: int) -> tuple[str, str]:
        question = f"Question number {number}: ✓ ünï {'x' * (number % 7)}"
        response = await client.post("/api/chat", json=chat_body(question))
        events, _ = await read_events(response)
        assert events[-1].name == "done"
        return question, text_of(events)

    results = await asyncio.gather(*(one(number) for number in range(200)))
    assert len(simulator.requests) == 200
    for question, text in results:
        assert text == answer_for(question)


async def test_one_log_line_per_request_without_secrets(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await (await client.post("/api/chat", json=chat_body())).read()
    await (await client.post("/api/chat", data="nope", headers={"Content-Type": "application/json"})).read()
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("chat.")]
    assert len(lines) == 2
    assert lines[0].startswith(
        'chat outcome="completed" client="ip:127.0.0.1" deployment="gpt-test" endpoint="127.0.0.1:'
    )
    assert "prompt_tokens=" in lines[0] and "tokens_estimated=false" in lines[0]
    assert lines[1].startswith('chat refused code="invalid_json" client="ip:127.0.0.1"')  # a refusal
    assert settings.api_key and all(settings.api_key not in record.getMessage() for record in caplog.records)


async def test_healthz_reports_mode(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["mode"] == "azure"


async def _next_request_works(client: Client) -> None:
    response = await client.post("/api/chat", json=chat_body("again"))
    events, _ = await read_events(response)
    assert events[-1].name == "done"
    assert text_of(events).startswith("You asked: *again*")


def test_parse_events_rejects_a_truncated_stream() -> None:
    with pytest.raises(AssertionError):
        parse_events('event: delta\ndata: {"content": "x"}\n')


async def test_a_silent_stream_gets_about_one_ping_per_interval(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(read_timeout=0.6, ping_interval=0.1)
    simulator.script("one two three")
    simulator.fail_next(Fault.STALL, after_chunks=1)
    events, comments = await read_events(await client.post("/api/chat", json=chat_body()))
    assert events[-1].data["code"] == "upstream_timeout"
    # 0.6 s of silence: a ping after each 0.1 to 0.125 s of it, not one per tick of the shared timer.
    assert 3 <= comments.count(": ping") <= 7, comments
