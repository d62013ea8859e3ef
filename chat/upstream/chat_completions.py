"""The Chat Completions dialect: the request, then raw stream bytes in, the text of each read and the
ending out."""

from __future__ import annotations

from typing import Any

import orjson

from chat.errors.chat_error import ChatError
from chat.upstream.events import Finished, StreamEvent, TextDelta
from chat.upstream.failures import ended_early, failure_in_stream, too_large, unreadable
from chat.upstream.messages import Message
from chat.upstream.sse_decoder import SseDecoder

PATH = "/chat/completions"


def request_body(
    deployment: str,
    messages: list[Message],
    max_tokens: int | None,
    *,
    max_tokens_parameter: str,
    reasoning_effort: str | None,
) -> dict[str, Any]:
    """Nothing that reasoning models refuse: no `max_tokens` for Azure, no temperature."""
    body: dict[str, Any] = {
        "model": deployment,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens is not None:
        body[max_tokens_parameter] = max_tokens
    if reasoning_effort is not None:
        body["reasoning_effort"] = reasoning_effort
    return body


class CompletionReader:
    """Decodes `chat.completion.chunk` events as they arrive, split anywhere across reads."""

    __slots__ = ("_decoder", "chunks", "done", "failure", "finish_reason", "usage")

    def __init__(self) -> None:
        self._decoder = SseDecoder()
        self.chunks = 0
        self.done = False  # `[DONE]` arrived
        self.failure: ChatError | None = None  # set once; the text before it still counts
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, raw: bytes) -> list[StreamEvent]:
        """The text carried by the complete events in `raw` (and what earlier reads left pending)."""
        text = self.feed_text(raw)
        return [TextDelta(text)] if text else []

    def feed_text(self, raw: bytes) -> str:
        pieces: list[str] = []
        for data in self._decoder.feed(raw):
            if not data:
                continue  # an event without data carries nothing
            if data == b"[DONE]":
                self.done = True
                break
            try:
                chunk = orjson.loads(data)
                self._take(chunk, pieces)
            except ChatError as error:
                self.failure = error
                break
            except (orjson.JSONDecodeError, AttributeError, TypeError, KeyError):
                self.failure = unreadable()
                break
        if self._decoder.too_large and not (self.failure or self.done):
            self.failure = too_large()
        return "".join(pieces)

    def finished(self) -> Finished:
        """How the answer ended, once the body is over; an answer cut short raises."""
        if not self.done and self.finish_reason is None:
            raise ended_early()
        return Finished(self.finish_reason or "stop", self.usage)

    def _take(self, chunk: dict[str, Any], pieces: list[str]) -> None:
        self.chunks += 1
        if "error" in chunk:
            raise failure_in_stream(chunk["error"])
        if usage := chunk.get("usage"):
            self.usage = usage
        # Azure sends chunks with no choices (prompt filter results, usage) and choices
        # without a delta (late content-filter annotations).
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta and (content := delta.get("content")):
                if not isinstance(content, str):
                    raise TypeError("content is not text")
                pieces.append(content)
            if reason := choice.get("finish_reason"):
                self.finish_reason = reason
