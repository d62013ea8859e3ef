"""A simulated Azure OpenAI endpoint that speaks the exact chat-completions streaming wire format.

It is a real aiohttp app reached over loopback HTTP by the real SDK, so demo mode, tests and
benchmarks run the production code path. Tests steer it: scripted answers, injected faults,
and a record of every request, including whether the caller hung up before the end.
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

from .answers import answer_for, tokens

API_KEY_HEADER = "api-key"
SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_RESULTS = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
MODEL = "gpt-4o-2024-11-20"


class Fault(enum.Enum):
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After before the stream
    SERVER_ERROR = "server_error"  # 500 before the stream
    PROMPT_FILTERED = "prompt_filtered"  # 400 content_filter on the prompt
    CONTENT_FILTER_FINISH = "content_filter_finish"  # stream ends with finish_reason content_filter
    ERROR_EVENT = "error_event"  # an {"error": ...} event mid-stream
    DROP = "drop"  # connection dropped mid-stream
    STALL = "stall"  # goes silent mid-stream until the caller hangs up
    GARBAGE = "garbage"  # bytes that are not a chunk
    ODD_CHUNK = "odd_chunk"  # valid JSON of an unexpected shape


@dataclasses.dataclass
class PlannedFault:
    fault: Fault
    after_chunks: int = 3
    retry_after_ms: int = 1000


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


class Simulator:
    def __init__(self, *, api_key: str = "simulator-key", token_delay: float = 0.0,
                 first_token_delay: float = 0.0, split_frames: bool = False, keep_alive: bool = True) -> None:
        self.api_key = api_key
        self.keep_alive = keep_alive  # False: one connection per request, so no pool grows anywhere
        self.split_frames = split_frames
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.requests: list[SimulatedRequest] = []
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

    def fail_next(self, fault: Fault, *, after_chunks: int = 3, times: int = 1,
                  retry_after_ms: int = 1000) -> None:
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
            yield "http://127.0.0.1:{}/".format(runner.addresses[0][1])
        finally:
            await runner.cleanup()

    async def next_request(self) -> SimulatedRequest:
        return await self._arrivals.get()

    def forget(self) -> None:
        """Drop the records of past requests (long runs keep memory flat)."""
        self.requests.clear()
        self._arrivals = asyncio.Queue()

    @property
    def open_requests(self) -> int:
        return sum(1 for request in self.requests if not request.ended.is_set())

    def answer(self, body: dict[str, Any]) -> str:
        if self._scripts:
            return self._scripts.popleft()
        question = next((m.get("content", "") for m in reversed(body.get("messages", []))
                         if m.get("role") == "user"), "")
        return answer_for(question if isinstance(question, str) else "")

    async def _connection_policy(self, request: web.Request, response: web.StreamResponse) -> None:
        if not self.keep_alive:
            response.force_close()

    async def _azure_completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get(API_KEY_HEADER) != self.api_key and _bearer(request) not in self.bearer_tokens:
            return _error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")
        if "api-version" not in request.query:
            return _error(404, "404", "Resource not found")
        return await self._completions(request, azure=True)

    async def _openai_completions(self, request: web.Request) -> web.StreamResponse:
        """The plain chat-completions dialect of OpenAI and of self-hosted servers: no content filters."""
        if _bearer(request) != self.api_key:
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        return await self._completions(request, azure=False)

    async def _completions(self, request: web.Request, *, azure: bool) -> web.StreamResponse:
        body = await request.json()
        record = SimulatedRequest(request.path, dict(request.headers), body)
        self.requests.append(record)
        self._arrivals.put_nowait(record)
        try:
            return await self._respond(request, record, azure)
        except (asyncio.CancelledError, ConnectionError):
            record.hung_up = True
            raise
        finally:
            record.ended_at = time.monotonic()
            record.ended.set()

    async def _respond(self, request: web.Request, record: SimulatedRequest, azure: bool) -> web.StreamResponse:
        planned = self._faults.popleft() if self._faults else None
        fault = planned.fault if planned else None
        if planned and fault is Fault.RATE_LIMITED:
            return _error(429, "429", "Requests have exceeded the token rate limit of your current tier. "
                          "Please retry after 1 second.", headers={
                              "retry-after": str(max(1, planned.retry_after_ms // 1000)),
                              "retry-after-ms": str(planned.retry_after_ms)})
        if fault is Fault.SERVER_ERROR:
            return _error(500, "InternalServerError", "The server had an error while processing your request.")
        if fault is Fault.PROMPT_FILTERED:
            return _error(400, "content_filter", "The response was filtered due to the prompt triggering "
                          "the content management policy.",
                          innererror={"code": "ResponsibleAIPolicyViolation"})
        answer = self.answer(record.body)
        if not record.body.get("stream"):
            return web.json_response(_completion(answer))

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        stream = _ChunkWriter(response, self.split_frames, azure)
        if azure:
            await stream.send({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                               "prompt_filter_results": [{"prompt_index": 0,
                                                          "content_filter_results": CONTENT_FILTER_RESULTS}]})
        record.streaming.set()
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        await stream.send(_chunk({"content": "", "refusal": None, "role": "assistant"}))
        pieces = tokens(answer)
        for number, piece in enumerate(pieces):
            if planned and number == planned.after_chunks:
                if fault is Fault.CONTENT_FILTER_FINISH:
                    await stream.send(_chunk({}, finish_reason="content_filter"))
                    break
                if fault is Fault.ERROR_EVENT:
                    await stream.send({"error": {"code": "server_error", "message": "The model failed."}})
                    return response
                if fault is Fault.GARBAGE:
                    await response.write(b"data: {\"choices\": [{\"delta\": \x00 not json\n\n")
                if fault is Fault.ODD_CHUNK:
                    await stream.send({"choices": [{"index": 0, "delta": {"content": ["not", "text"]}}]})
                if fault is Fault.DROP:
                    assert request.transport is not None
                    request.transport.abort()
                    return response
                if fault is Fault.STALL:
                    await asyncio.Event().wait()  # until the caller hangs up
            if number and self.token_delay:
                await asyncio.sleep(self.token_delay)
            await stream.send(_chunk({"content": piece}))
            record.content_chunks_sent += 1
            if number == 0 and azure:
                # A late annotation the way Azure's asynchronous filter sends it: no delta at all.
                await stream.send({**_chunk({}), "choices": [
                    {"index": 0, "finish_reason": None, "content_filter_results": CONTENT_FILTER_RESULTS,
                     "content_filter_offsets": {"check_offset": 0, "start_offset": 0, "end_offset": 1}}]})
        else:
            await stream.send(_chunk({}, finish_reason="stop"))
        prompt_tokens = sum(len(tokens(m.get("content", ""))) for m in record.body.get("messages", []))
        if (record.body.get("stream_options") or {}).get("include_usage"):
            await stream.send({**_chunk({}), "choices": [], "usage": {
                "completion_tokens": record.content_chunks_sent, "prompt_tokens": prompt_tokens,
                "total_tokens": record.content_chunks_sent + prompt_tokens}})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        record.completed = True
        return response


class _ChunkWriter:
    """Writes `data:` events; with `split`, each in two writes cut mid-frame (often mid-character)."""

    def __init__(self, response: web.StreamResponse, split: bool, azure: bool) -> None:
        self._response = response
        self._split = split
        self._azure = azure

    async def send(self, chunk: dict[str, Any]) -> None:
        if not self._azure:
            for choice in chunk.get("choices", ()):
                choice.pop("content_filter_results", None)
        event = b"data: " + orjson.dumps(chunk) + b"\n\n"
        if self._split:
            middle = len(event) // 2 + 1
            await self._response.write(event[:middle])
            await asyncio.sleep(0)  # lets the first half leave as its own segment
            event = event[middle:]
        await self._response.write(event)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme == "Bearer" else None


def _chunk(delta: dict[str, Any], *, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "choices": [{
            "content_filter_results": CONTENT_FILTER_RESULTS if delta.get("content") else {},
            "delta": delta, "finish_reason": finish_reason, "index": 0, "logprobs": None}],
        "created": 1732500000, "id": "chatcmpl-simulated", "model": MODEL,
        "object": "chat.completion.chunk", "system_fingerprint": "fp_simulated",
    }


def _completion(answer: str) -> dict[str, Any]:
    return {"id": "chatcmpl-simulated", "object": "chat.completion", "model": MODEL, "created": 1732500000,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}]}


def _error(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
           **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status,
                             headers=headers)
