"""The load: concurrent chat streams from one aiohttp client, timed frame by frame."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from chat.upstream.chat_completions import CompletionReader

from .answers import answer_to

API_VERSION = "2024-10-21"
DEPLOYMENT = "bench"


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the streams go: a relay (`/api/chat`, our SSE events) or the upstream itself."""

    name: str
    url: str
    direct: bool = False
    api_key: str = ""
    resumable: bool = False  # asked as the page asks: the answer kept on the server for a reconnect

    def request(self, question: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        messages = [{"role": "user", "content": question}]
        if self.direct:
            url = f"{self.url}/openai/deployments/{DEPLOYMENT}/chat/completions?api-version={API_VERSION}"
            body = {"messages": messages, "stream": True, "stream_options": {"include_usage": True}}
            return url, body, {"api-key": self.api_key}
        if self.resumable:
            return f"{self.url}/api/chat", {"messages": messages, "resumable": True}, {}
        return f"{self.url}/api/chat", {"messages": messages}, {}


class RelayEvents:
    """Text out of our `event: delta` frames; `done` or `error` ends the stream."""

    def __init__(self) -> None:
        self._pending = b""
        self.done = False
        self.error: str | None = None

    def feed(self, data: bytes) -> str:
        *blocks, self._pending = (self._pending + data).split(b"\n\n")
        pieces = []
        for block in blocks:
            if block.startswith(b"id: "):  # a resumable answer numbers its events
                block = block.partition(b"\n")[2]
            name, _, payload = block.partition(b"\n")
            if name == b"event: delta":
                pieces.append(orjson.loads(payload[6:])["content"])
            elif name == b"event: done":
                self.done = True
            elif name == b"event: error":
                self.error = orjson.loads(payload[6:])["code"]
        return "".join(pieces)


class UpstreamEvents(CompletionReader):
    """Text out of Azure's chat-completion chunks: the relay's own reader, with `error` as RelayEvents has it."""

    __slots__ = ()

    feed = CompletionReader.feed_text  # type: ignore[assignment]

    @property
    def error(self) -> str | None:
        return self.failure.code if self.failure else None


@dataclasses.dataclass
class StreamResult:
    question: str
    started: float
    first_text: float | None = None
    text_reads: list[float] = dataclasses.field(default_factory=list)  # arrival of each read carrying text
    text: str = ""
    status: int | None = None
    done: bool = False
    error: str | None = None

    @property
    def exact(self) -> bool:
        return self.done and self.error is None and self.text == answer_to(self.question)

    @property
    def ttft(self) -> float | None:
        return None if self.first_text is None else self.first_text - self.started

    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.text_reads, self.text_reads[1:])]


async def stream_chat(session: aiohttp.ClientSession, target: Target, question: str, timeout: float) -> StreamResult:
    """One whole answer, read as it arrives; failures are recorded, not raised."""
    url, body, headers = target.request(question)
    events = UpstreamEvents() if target.direct else RelayEvents()
    result = StreamResult(question, time.monotonic())
    pieces: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            async with session.post(url, json=body, headers=headers) as response:
                result.status = response.status
                if response.status != 200:
                    result.error = f"http {response.status}"
                    return result
                async for data in response.content.iter_any():
                    now = time.monotonic()
                    text = events.feed(data)
                    if text:
                        if result.first_text is None:
                            result.first_text = now
                        result.text_reads.append(now)
                        pieces.append(text)
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as error:
        result.error = type(error).__name__
    result.text = "".join(pieces)
    result.done = events.done
    result.error = result.error or events.error
    return result


async def stream_many(
    session: aiohttp.ClientSession, target: Target, questions: Sequence[str], timeout: float
) -> list[StreamResult]:
    """All questions at once: len(questions) concurrent streams."""
    return list(await asyncio.gather(*(stream_chat(session, target, q, timeout) for q in questions)))


@dataclasses.dataclass
class Abort:
    question: str
    opened: bool = False
    aborted_at: float | None = None


async def stream_then_abort(
    session: aiohttp.ClientSession,
    target: Target,
    question: str,
    *,
    wait_for_text: bool,
    arrivals: asyncio.Queue[Abort],
    ready: asyncio.Event,
    spread: float,
    rng: random.Random,
    timeout: float,
) -> Abort:
    """Open a stream, wait for text (or only the headers), then close it as a browser's Stop does.

    Each stream reports to `arrivals` once open (or failed), then waits for `ready`. The aborts are
    spread over `spread` seconds so each one is timed on its own, not in a herd.
    """
    url, body, headers = target.request(question)
    abort = Abort(question)
    try:
        async with asyncio.timeout(timeout):
            response = await session.post(url, json=body, headers=headers)
            try:
                opened = response.status == 200
                if opened and wait_for_text:
                    events = UpstreamEvents() if target.direct else RelayEvents()
                    while not events.feed(data := await response.content.readany()):
                        if not data:  # ended before any text
                            opened = False
                            break
                abort.opened = opened
                arrivals.put_nowait(abort)
                await ready.wait()
                await asyncio.sleep(rng.uniform(0, spread))
            finally:
                abort.aborted_at = time.monotonic()
                response.close()
    except (aiohttp.ClientError, TimeoutError):
        if not abort.opened:
            arrivals.put_nowait(abort)
    return abort
