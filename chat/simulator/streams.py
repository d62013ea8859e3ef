"""The simulator's streaming answers, one loop per dialect, each with one place where a fault breaks in."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import time
from typing import Any

import orjson
from aiohttp import web

from chat.simulator import responses_wire, wire
from chat.simulator.answers import reasoning_summary, tokens
from chat.simulator.faults import Fault, PlannedFault
from chat.simulator.profiles import ModelProfile


@dataclasses.dataclass
class SimulatedRequest:
    """What one call to the simulator looked like and how it ended."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    started: float = dataclasses.field(default_factory=time.monotonic)
    content_chunks_sent: int = 0
    completed: bool = False
    hung_up: bool = False  # the caller closed the connection before the end
    ended_at: float | None = None
    streaming: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    ended: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    query: str = ""  # the query string as sent (the API version)


@dataclasses.dataclass(frozen=True)
class Pace:
    token_delay: float
    first_token_delay: float
    thinking_time: float  # reasoning models only: silence, or summary text, before the answer
    split_frames: bool


class _After(enum.Enum):
    """What the stream does once a fault has broken in."""

    CONTINUE = "continue"
    FINISH = "finish"  # no more text: the ending follows
    END = "end"  # the response ends here


class StreamWriter:
    """Writes events; with `split`, each in two writes cut mid-frame (often mid-character)."""

    def __init__(self, response: web.StreamResponse, split: bool, azure: bool) -> None:
        self.response = response
        self._split = split
        self._azure = azure
        self._sequence = 0

    async def send(self, chunk: dict[str, Any]) -> None:
        """A chat-completions chunk: one `data:` line."""
        if not self._azure:
            chunk = wire.without_filter_results(chunk)
        await self.write(b"data: " + orjson.dumps(chunk) + b"\n\n")

    async def send_event(self, event: dict[str, Any]) -> None:
        """A Responses API event: named, numbered."""
        event = {**event, "sequence_number": self._sequence}
        self._sequence += 1
        await self.write(b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n")

    async def write(self, event: bytes) -> None:
        if self._split:
            middle = len(event) // 2 + 1
            await self.response.write(event[:middle])
            await asyncio.sleep(0)  # lets the first half leave as its own segment
            event = event[middle:]
        await self.response.write(event)


async def _start(request: web.Request, record: SimulatedRequest, pace: Pace, azure: bool) -> StreamWriter:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)
    record.streaming.set()
    return StreamWriter(response, pace.split_frames, azure)


async def _break_in(fault: Fault, writer: StreamWriter, request: web.Request, odd: bytes, error: bytes) -> _After:
    """The one place where a planned fault breaks a stream that has begun."""
    if fault is Fault.CONTENT_FILTER_FINISH:
        return _After.FINISH
    if fault is Fault.ERROR_EVENT:
        await writer.write(error)
        return _After.END
    if fault is Fault.GARBAGE:
        await writer.write(b'data: {"choices": [{"delta": \x00 not json\n\n')
    elif fault is Fault.ODD_CHUNK:
        await writer.write(odd)
    elif fault is Fault.DROP:
        assert request.transport is not None
        request.transport.abort()
        return _After.END
    elif fault is Fault.STALL:
        await asyncio.Event().wait()  # until the caller hangs up
    return _After.CONTINUE


def prompt_tokens(messages: object) -> int:
    if not isinstance(messages, list):
        return 0
    return sum(len(tokens(m.get("content", ""))) for m in messages if isinstance(m, dict))


def reasoning_tokens(pieces: list[str]) -> int:
    return 16 + 2 * len(pieces)


async def stream_chat(
    request: web.Request,
    record: SimulatedRequest,
    answer: str,
    planned: PlannedFault | None,
    profile: ModelProfile,
    pace: Pace,
    *,
    azure: bool,
) -> web.StreamResponse:
    writer = await _start(request, record, pace, azure)
    if azure:
        await writer.send(wire.prompt_filter_chunk())
    if pace.first_token_delay:
        await asyncio.sleep(pace.first_token_delay)
    if profile.reasoning and pace.thinking_time:
        await asyncio.sleep(pace.thinking_time)  # Chat Completions shows nothing of the thinking
    await writer.send(wire.chunk({"content": "", "refusal": None, "role": "assistant"}, model=profile.model))
    finish_reason = "stop"
    pieces = tokens(answer)
    odd = b'data: {"choices": [{"index": 0, "delta": {"content": ["not", "text"]}}]}\n\n'
    error = b"data: " + orjson.dumps(wire.error_event("server_error", "The model failed.")) + b"\n\n"
    for number, piece in enumerate(pieces):
        if planned and number == planned.after_chunks:
            after = await _break_in(planned.fault, writer, request, odd, error)
            if after is _After.END:
                return writer.response
            if after is _After.FINISH:
                finish_reason = "content_filter"
                if not profile.async_filter:
                    break  # the synchronous filter withholds the rest; the asynchronous one flags it later
        if number and pace.token_delay:
            await asyncio.sleep(pace.token_delay)
        await writer.send(wire.chunk({"content": piece}, model=profile.model, annotated=not profile.async_filter))
        record.content_chunks_sent += 1
        if azure and (number == 0 if not profile.async_filter else number % 8 == 7):
            await writer.send(wire.annotation_chunk(len("".join(pieces[: number + 1]))))
    if azure and profile.async_filter:
        await writer.send(wire.annotation_chunk(len(answer), flagged=finish_reason == "content_filter"))
    await writer.send(wire.chunk({}, finish_reason=finish_reason, model=profile.model))
    if (record.body.get("stream_options") or {}).get("include_usage"):
        thought = reasoning_tokens(pieces) if profile.reasoning else None
        usage = wire.usage_chunk(prompt_tokens(record.body.get("messages")), record.content_chunks_sent, thought)
        await writer.send(usage)
    await writer.write(wire.DONE)
    await writer.response.write_eof()
    record.completed = True
    return writer.response


async def stream_responses(
    request: web.Request,
    record: SimulatedRequest,
    answer: str,
    planned: PlannedFault | None,
    profile: ModelProfile,
    pace: Pace,
) -> web.StreamResponse:
    writer = await _start(request, record, pace, azure=True)
    model = profile.model
    await writer.send_event({"type": "response.created", "response": responses_wire.response(model, "in_progress")})
    await writer.send_event({"type": "response.in_progress", "response": responses_wire.response(model, "in_progress")})
    if pace.first_token_delay:
        await asyncio.sleep(pace.first_token_delay)
    pieces = tokens(answer)
    wants_summary = bool((record.body.get("reasoning") or {}).get("summary"))
    if profile.reasoning:
        await writer.send_event(responses_wire.output_item_added("reasoning"))
        summary = reasoning_summary(answer) if wants_summary else []
        for index, part in enumerate(summary):
            await writer.send_event(responses_wire.summary_part_added(index))
            for piece in tokens(part):
                await asyncio.sleep(pace.thinking_time / max(1, sum(len(tokens(p)) for p in summary)))
                await writer.send_event(responses_wire.summary_delta(index, piece))
        if not summary and pace.thinking_time:
            await asyncio.sleep(pace.thinking_time)
    await writer.send_event(responses_wire.output_item_added("message"))
    odd = b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", "delta": 7}\n\n'
    error = b"event: error\ndata: " + orjson.dumps(responses_wire.error_event("server_error", "The model failed."))
    status, incomplete = "completed", None
    for number, piece in enumerate(pieces):
        if planned and number == planned.after_chunks:
            after = await _break_in(planned.fault, writer, request, odd, error + b"\n\n")
            if after is _After.END:
                return writer.response
            if after is _After.FINISH:
                status, incomplete = "incomplete", {"reason": "content_filter"}
                break
        if number and pace.token_delay:
            await asyncio.sleep(pace.token_delay)
        await writer.send_event(responses_wire.text_delta(piece))
        record.content_chunks_sent += 1
    await writer.send_event(responses_wire.text_done("".join(pieces[: record.content_chunks_sent])))
    thought = reasoning_tokens(pieces) if profile.reasoning else 0
    usage = responses_wire.usage(prompt_tokens(record.body.get("input")), record.content_chunks_sent, thought)
    final = responses_wire.response(model, status, usage, incomplete_details=incomplete)
    await writer.send_event({"type": f"response.{status}", "response": final})
    await writer.response.write_eof()
    record.completed = True
    return writer.response
