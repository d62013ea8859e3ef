"""The Responses API dialect: the request, then typed stream events in, text, reasoning and the
ending out. Some models (gpt-5-codex, gpt-5-pro, codex-mini) exist only here."""

from __future__ import annotations

from typing import Any

import orjson

from chat.errors.chat_error import ChatError
from chat.upstream.events import Finished, ReasoningDelta, StreamEvent, TextDelta
from chat.upstream.failures import ended_early, failure_in_stream, too_large, unreadable
from chat.upstream.messages import Message
from chat.upstream.sse_decoder import SseDecoder

PATH = "/responses"

# Why an answer stopped early, as Chat Completions names it.
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def request_body(
    deployment: str, messages: list[Message], max_tokens: int | None, *, reasoning_effort: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": deployment,
        # The system prompt as a developer message: the role every model of this API accepts.
        "input": [{**m, "role": "developer"} if m["role"] == "system" else m for m in messages],
        "stream": True,
        "store": False,  # Azure otherwise keeps every conversation for 30 days
        # Summaries where the model has them; a model that refuses the parameter is asked again without it.
        "reasoning": {"summary": "auto"},
    }
    if reasoning_effort is not None:
        body["reasoning"]["effort"] = reasoning_effort
    if max_tokens is not None:
        body["max_output_tokens"] = max_tokens
    return body


class ResponsesReader:
    """Decodes `response.*` events as they arrive, split anywhere across reads."""

    __slots__ = ("_decoder", "_finished", "chunks", "done", "failure")

    def __init__(self) -> None:
        self._decoder = SseDecoder()
        self._finished: Finished | None = None
        self.chunks = 0
        self.done = False  # the response has ended (completed, incomplete, failed)
        self.failure: ChatError | None = None  # set once; what came before it still counts

    def feed(self, raw: bytes) -> list[StreamEvent]:
        text: list[str] = []
        reasoning: list[str] = []
        for data in self._decoder.feed(raw):
            if not data:
                continue  # an event without data carries nothing
            try:
                self._take(orjson.loads(data), text, reasoning)
            except ChatError as error:
                self.failure = error
            except (orjson.JSONDecodeError, AttributeError, TypeError, KeyError):
                self.failure = unreadable()
            if self.failure or self.done:
                break
        if self._decoder.too_large and not (self.failure or self.done):
            self.failure = too_large()
        events: list[StreamEvent] = []
        if reasoning:
            events.append(ReasoningDelta("".join(reasoning)))
        if text:
            events.append(TextDelta("".join(text)))
        return events

    def finished(self) -> Finished:
        if self._finished is None:
            raise ended_early()
        return self._finished

    def _take(self, event: dict[str, Any], text: list[str], reasoning: list[str]) -> None:
        self.chunks += 1
        kind = event["type"]
        if kind == "response.output_text.delta":
            text.append(_text(event["delta"]))
        elif kind == "response.reasoning_summary_text.delta":
            reasoning.append(_text(event["delta"]))
        elif kind == "response.reasoning_summary_part.added" and event.get("summary_index", 0) > 0:
            reasoning.append("\n\n")  # summary parts are paragraphs
        elif kind in ("response.completed", "response.incomplete"):
            response = event["response"]
            reason = (response.get("incomplete_details") or {}).get("reason")
            self._finished = Finished(INCOMPLETE_REASONS.get(str(reason), "stop"), _usage(response.get("usage")))
            self.done = True
        elif kind == "response.failed":
            self.done = True
            raise failure_in_stream(event["response"].get("error") or {})
        elif kind == "error":
            self.done = True
            raise failure_in_stream({"code": event.get("code"), "message": event.get("message")})


def _text(delta: object) -> str:
    if not isinstance(delta, str):
        raise TypeError("delta is not text")
    return delta


def _usage(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Responses API's usage in the Chat Completions shape that `done` carries."""
    if not usage:
        return None
    output_details = usage.get("output_tokens_details") or {}
    input_details = usage.get("input_tokens_details") or {}
    return {
        "prompt_tokens": usage.get("input_tokens", 0),
        "completion_tokens": usage.get("output_tokens", 0),
        "total_tokens": usage.get("total_tokens", 0),
        "prompt_tokens_details": {"cached_tokens": input_details.get("cached_tokens", 0)},
        "completion_tokens_details": {"reasoning_tokens": output_details.get("reasoning_tokens", 0)},
    }
