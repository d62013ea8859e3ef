"""A simulated Azure OpenAI endpoint that speaks the exact chat-completions streaming wire format.

It is a real aiohttp app reached over loopback HTTP by the real SDK, so demo mode, tests and
benchmarks run the production code path. Tests steer it: scripted answers, injected faults, and,
when they ask for it with `record=True`, a record of every request, including whether the caller
hung up before the end. Demo mode records nothing, so a long-running demo keeps flat memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import enum
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from . import wire
from .answers import answer_for, tokens
from .faults import REFUSALS, Fault, PlannedFault

__all__ = ["Fault", "SimulatedRequest", "Simulator"]

API_KEY_HEADER = "api-key"


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


class _After(enum.Enum):
    """What the stream does after a fault was injected."""

    CONTINUE = "continue"
    FINISH = "finish"  # no more text: usage and [DONE] follow
    END = "end"  # the response ends here


class Simulator:
    def __init__(
        self,
        *,
        api_key: str = "simulator-key",
        token_delay: float = 0.0,
        first_token_delay: float = 0.0,
        split_frames: bool = False,
        keep_alive: bool = True,
        record: bool = False,
    ) -> None:
        self.api_key = api_key
        self.keep_alive = keep_alive  # False: one connection per request, so no pool grows anywhere
        self.split_frames = split_frames
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.record = record
        self.requests: list[SimulatedRequest] = []  # only with `record`
        self.open_requests = 0
        self._scripts: collections.deque[str] = collections.deque()
        self._faults: collections.deque[PlannedFault] = collections.deque()
        self._arrivals: asyncio.Queue[SimulatedRequest] = asyncio.Queue()
        self.bearer_tokens: set[str] = set()  # Entra ID tokens the Azure dialect accepts besides the key
        self.app = web.Application()
        self.app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure_completions)
        self.app.router.add_post("/v1/chat/completions", self._openai_completions)
        self.app.on_response_prepare.append(self._connection_policy)

    def script(self, text: str) -> None:
        """The next answer is exactly `text` (queued: one call, one answer)."""
        self._scripts.append(text)

    def fail_next(self, fault: Fault, *, after_chunks: int = 3, times: int = 1, retry_after_ms: int = 1000) -> None:
        for _ in range(times):
            self._faults.append(PlannedFault(fault, after_chunks, retry_after_ms))

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve on a free loopback port; yields the Azure endpoint URL (OpenAI dialect: URL + `v1`)."""
        # Cancelling on disconnect, as production does, so a hang-up is seen even while silent.
        runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()  # hundreds connect at once
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
        finally:
            await runner.cleanup()

    async def next_request(self) -> SimulatedRequest:
        assert self.record, "Simulator(record=True) keeps requests"
        return await self._arrivals.get()

    def forget(self) -> None:
        """Drop the records of past requests (long runs keep memory flat)."""
        self.requests.clear()
        self._arrivals = asyncio.Queue()

    def answer(self, body: dict[str, Any]) -> str:
        if self._scripts:
            return self._scripts.popleft()
        question = next(
            (m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), ""
        )
        return answer_for(question if isinstance(question, str) else "")

    async def _connection_policy(self, request: web.Request, response: web.StreamResponse) -> None:
        if not self.keep_alive:
            response.force_close()

    async def _azure_completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get(API_KEY_HEADER) != self.api_key and _bearer(request) not in self.bearer_tokens:
            return wire.error_response(
                401, "401", "Access denied due to invalid subscription key or wrong API endpoint."
            )
        if "api-version" not in request.query:
            return wire.error_response(404, "404", "Resource not found")
        return await self._completions(request, azure=True)

    async def _openai_completions(self, request: web.Request) -> web.StreamResponse:
        """The plain chat-completions dialect of OpenAI and of self-hosted servers: no content filters."""
        if _bearer(request) != self.api_key:
            return wire.error_response(401, "invalid_api_key", "Incorrect API key provided.")
        return await self._completions(request, azure=False)

    async def _completions(self, request: web.Request, *, azure: bool) -> web.StreamResponse:
        body = await request.json()
        record = SimulatedRequest(request.path, dict(request.headers) if self.record else {}, body)
        if self.record:
            self.requests.append(record)
            self._arrivals.put_nowait(record)
        self.open_requests += 1
        try:
            planned = self._faults.popleft() if self._faults else None
            if planned and (refuse := REFUSALS.get(planned.fault)):
                return refuse(planned)
            answer = self.answer(body)
            if not body.get("stream"):
                return web.json_response(wire.completion(answer))
            return await self._stream(request, record, answer, planned, azure)
        except (asyncio.CancelledError, ConnectionError):
            record.hung_up = True
            raise
        finally:
            self.open_requests -= 1
            record.ended_at = time.monotonic()
            record.ended.set()

    async def _stream(
        self, request: web.Request, record: SimulatedRequest, answer: str, planned: PlannedFault | None, azure: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        stream = _ChunkWriter(response, self.split_frames, azure)
        if azure:
            await stream.send(wire.prompt_filter_chunk())
        record.streaming.set()
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        await stream.send(wire.chunk({"content": "", "refusal": None, "role": "assistant"}))
        finish_reason = "stop"
        for number, piece in enumerate(tokens(answer)):
            if planned and number == planned.after_chunks:
                after = await _inject(planned.fault, stream, request)
                if after is _After.END:
                    return response
                if after is _After.FINISH:
                    finish_reason = "content_filter"
                    break
            if number and self.token_delay:
                await asyncio.sleep(self.token_delay)
            await stream.send(wire.chunk({"content": piece}))
            record.content_chunks_sent += 1
            if number == 0 and azure:
                await stream.send(wire.annotation_chunk())
        await stream.send(wire.chunk({}, finish_reason=finish_reason))
        if (record.body.get("stream_options") or {}).get("include_usage"):
            prompt_tokens = sum(len(tokens(m.get("content", ""))) for m in record.body.get("messages", []))
            await stream.send(wire.usage_chunk(prompt_tokens, record.content_chunks_sent))
        await response.write(wire.DONE)
        await response.write_eof()
        record.completed = True
        return response


async def _inject(fault: Fault, stream: _ChunkWriter, request: web.Request) -> _After:
    """The one place where a planned fault breaks a stream that has begun."""
    if fault is Fault.CONTENT_FILTER_FINISH:
        return _After.FINISH
    if fault is Fault.ERROR_EVENT:
        await stream.send(wire.error_event("server_error", "The model failed."))
        return _After.END
    if fault is Fault.GARBAGE:
        await stream.write(b'data: {"choices": [{"delta": \x00 not json\n\n')
    elif fault is Fault.ODD_CHUNK:
        await stream.send({"choices": [{"index": 0, "delta": {"content": ["not", "text"]}}]})
    elif fault is Fault.DROP:
        assert request.transport is not None
        request.transport.abort()
        return _After.END
    elif fault is Fault.STALL:
        await asyncio.Event().wait()  # until the caller hangs up
    return _After.CONTINUE


class _ChunkWriter:
    """Writes `data:` events; with `split`, each in two writes cut mid-frame (often mid-character)."""

    def __init__(self, response: web.StreamResponse, split: bool, azure: bool) -> None:
        self._response = response
        self._split = split
        self._azure = azure

    async def send(self, chunk: dict[str, Any]) -> None:
        if not self._azure:
            chunk = wire.without_filter_results(chunk)
        await self.write(b"data: " + orjson.dumps(chunk) + b"\n\n")

    async def write(self, event: bytes) -> None:
        if self._split:
            middle = len(event) // 2 + 1
            await self._response.write(event[:middle])
            await asyncio.sleep(0)  # lets the first half leave as its own segment
            event = event[middle:]
        await self._response.write(event)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme == "Bearer" else None
