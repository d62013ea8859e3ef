"""One answer from the model service, opened through the SDK and read raw.

The SDK builds the URL, signs the request, retries before the first byte and types the errors.
The body is read raw: decoding SSE and JSON here costs a fraction of one pydantic model per chunk.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
import httpx2
import openai

from ..chat_request import Message
from ..events import StreamEvent
from .chat_completions import CompletionReader
from .client import SignInFailed
from .failures import TRANSPORT_ERRORS, failure_before_stream, failure_of_transport, sign_in_failed

log = logging.getLogger("chat.upstream")


class CompletionStream:
    """`async with` opens the answer (a refusal raises ChatError) and gives an async iterator of its
    events, one per upstream read; leaving the block always closes the upstream request."""

    def __init__(
        self, client: openai.AsyncOpenAI, deployment: str, messages: list[Message], max_tokens: int | None
    ) -> None:
        self._client = client
        self._body: dict[str, Any] = {
            "model": deployment,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if max_tokens is not None:
            self._body["max_tokens"] = max_tokens
        self._response: httpx2.Response | None = None
        self._events: AsyncGenerator[StreamEvent, None] | None = None
        self.chunks = 0  # upstream chunks decoded so far, for the log

    async def __aenter__(self) -> AsyncIterator[StreamEvent]:
        # `post` rather than `chat.completions.create`: the body is already checked, so the SDK's
        # typed transform of every message (40% of its request time) is skipped; URL, auth, retries
        # and typed errors stay the SDK's.
        try:
            self._response = await self._client.post(
                "/chat/completions", cast_to=httpx2.Response, body=self._body, stream=True
            )
        except openai.APIError as error:
            raise failure_before_stream(error) from error
        except SignInFailed as error:
            log.warning("could not sign in to the model service: %.300r", str(error))
            raise sign_in_failed() from error
        self._events = self._read(body_chunks(self._response))
        return self._events

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._events is not None:
            await self._events.aclose()
        if self._response is not None:
            await self._response.aclose()

    async def _read(self, body: AsyncIterator[bytes]) -> AsyncGenerator[StreamEvent, None]:
        reader = CompletionReader()
        while True:
            try:
                raw = await anext(body)
            except StopAsyncIteration:
                break
            except TRANSPORT_ERRORS as error:
                raise failure_of_transport(error) from error
            events = reader.feed(raw)
            self.chunks = reader.chunks
            for event in events:
                yield event
            if reader.failure:
                raise reader.failure
            if reader.done:
                break
        yield reader.finished()


def body_chunks(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The body as it arrives. Under the SDK's aiohttp transport, straight from aiohttp's reader:
    per read that skips httpx2's stream, decoder and chunker layers. Elsewhere, httpx2's bytes."""
    stream = getattr(response.stream, "_stream", response.stream)  # inside httpx2's BoundAsyncStream
    raw = getattr(stream, "_aiohttp_response", None)
    if isinstance(raw, aiohttp.ClientResponse) and response.headers.get("content-encoding", "identity") == "identity":
        return raw.content.iter_any()
    return response.aiter_bytes()
