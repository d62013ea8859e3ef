"""The model service: one SDK client, and a lean reader of its raw completion stream.

The SDK builds the URL, signs the request, retries before the first byte and types the errors.
The body is read raw: decoding SSE and JSON here costs a fraction of one pydantic model per chunk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
import httpx2
import openai
import orjson

from .errors import ChatError
from .settings import Settings
from .sse import SseDecoder

Message = dict[str, str]

DEFAULT_RETRY_AFTER = 5

log = logging.getLogger("chat.upstream")


TokenProvider = Callable[[], Awaitable[str]]


def create_client(settings: Settings, endpoint: str, api_key: str | None,
                  token_provider: TokenProvider | None = None) -> openai.AsyncOpenAI:
    """An Azure client (key or Entra ID token), or a plain one for OpenAI-compatible servers."""
    timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    common: dict[str, Any] = {
        "timeout": timeout,
        "max_retries": settings.max_retries,
        # aiohttp under the SDK: reads cost a fraction of httpx2's, which arms an anyio timeout per read.
        "http_client": openai.DefaultAioHttpClient(
            timeout=timeout,
            # Every open chat holds one upstream connection for its whole answer.
            limits=httpx2.Limits(max_connections=10_000, max_keepalive_connections=200),
        ),
    }
    if settings.backend == "openai":
        # Local servers (vLLM, Ollama, llama.cpp) often need no key; the SDK insists on one.
        return openai.AsyncOpenAI(base_url=endpoint, api_key=api_key or "none", **common)
    if token_provider is not None:
        return openai.AsyncAzureOpenAI(azure_endpoint=endpoint, azure_ad_token_provider=token_provider,
                                       api_version=settings.api_version, **common)
    return openai.AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=api_key, api_version=settings.api_version,
                                   **common)


class CompletionStream:
    """`async with` opens the upstream stream (errors become ChatError); exit always closes it."""

    def __init__(self, client: openai.AsyncOpenAI, deployment: str, messages: list[Message],
                 max_tokens: int | None) -> None:
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

    async def __aenter__(self) -> AsyncIterator[bytes]:
        # `post` rather than `chat.completions.create`: the body is already checked, so the SDK's
        # typed transform of every message (40% of its request time) is skipped; URL, auth, retries
        # and typed errors stay the SDK's.
        try:
            self._response = await self._client.post("/chat/completions", cast_to=httpx2.Response,
                                                      body=self._body, stream=True)
        except openai.APIError as error:
            raise failure_before_stream(error) from error
        except Exception as error:
            # The SDK calls an Entra ID token provider outside its own error handling.
            log.warning("could not open the upstream request: %s: %s", type(error).__name__, error)
            raise ChatError(502, "upstream_error", "The server could not sign in to the model service. Ask "
                            "the administrator to check its credentials.") from error
        return _body_chunks(self._response)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._response is not None:
            await self._response.aclose()


def _body_chunks(response: httpx2.Response) -> AsyncIterator[bytes]:
    """The body as it arrives. Under the SDK's aiohttp transport, straight from aiohttp's reader:
    per read that skips httpx2's stream, decoder and chunker layers. Elsewhere, httpx2's bytes."""
    stream = getattr(response.stream, "_stream", response.stream)  # inside httpx2's BoundAsyncStream
    raw = getattr(stream, "_aiohttp_response", None)
    if isinstance(raw, aiohttp.ClientResponse) and response.headers.get("content-encoding", "identity") == "identity":
        return raw.content.iter_any()
    return response.aiter_bytes()


class CompletionReader:
    """Turns raw upstream bytes into the text of each read, plus finish reason, usage or failure."""

    __slots__ = ("_decoder", "chunks", "done", "failure", "finish_reason", "usage")

    def __init__(self) -> None:
        self._decoder = SseDecoder()
        self.chunks = 0
        self.done = False
        self.failure: ChatError | None = None  # set once; the text before it still counts
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, raw: bytes) -> str:
        """Text carried by the complete events in `raw` (and what earlier reads left pending)."""
        pieces: list[str] = []
        for data in self._decoder.feed(raw):
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
                self.failure = ChatError(502, "upstream_error", "The model service sent a reply this server "
                                         "could not read.")
                break
        return "".join(pieces)

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


def failure_before_stream(error: openai.APIError) -> ChatError:
    """Map an SDK error (after its own retries) to what our client is told."""
    if isinstance(error, openai.APITimeoutError) and _timed_out(error):
        return ChatError(504, "upstream_timeout", "The model service did not answer in time. Try again.")
    if isinstance(error, openai.APIConnectionError):
        return ChatError(502, "upstream_unavailable", "The model service cannot be reached. Try again "
                         "in a moment.")
    if isinstance(error, openai.RateLimitError):
        retry_after = retry_after_seconds(error.response.headers)
        return ChatError(429, "rate_limited", f"The model service is busy. Try again in {retry_after} "
                         "seconds.", retry_after=retry_after)
    if isinstance(error, openai.APIStatusError):
        code = _error_code(error.body)
        if code == "content_filter":
            return ChatError(400, "content_filter", "Your message was blocked by the content filter. "
                             "Rephrase it and send again.")
        if code == "context_length_exceeded":
            return ChatError(400, "conversation_too_long", "This conversation is too long for the model. "
                             "Start a new chat or remove earlier messages.")
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return ChatError(502, "upstream_error", "The server's credentials for the model service were "
                             "refused. Ask the administrator to check them.")
        if isinstance(error, openai.NotFoundError):
            return ChatError(502, "upstream_error", "The configured model deployment was not found. Ask "
                             "the administrator to check it.")
        if error.status_code >= 500:
            return ChatError(502, "upstream_unavailable", "The model service had a problem. Try again "
                             "in a moment.")
    return ChatError(502, "upstream_error", "The model service refused the request.")


def failure_in_stream(error: object) -> ChatError:
    """An `{"error": ...}` event inside an answer that had already begun."""
    if _error_code({"error": error}) == "content_filter":
        return ChatError(400, "content_filter", "The rest of the answer was withheld by the content filter.")
    return ChatError(502, "upstream_error", "The model service stopped with an error. Try again.")


TRANSPORT_ERRORS = (httpx2.HTTPError, aiohttp.ClientError)


def failure_of_transport(error: httpx2.HTTPError | aiohttp.ClientError) -> ChatError:
    if isinstance(error, (httpx2.TimeoutException, TimeoutError)) and _timed_out(error):
        return ChatError(504, "upstream_timeout", "The model service stopped sending. Try again.")
    return ChatError(502, "upstream_unavailable", "The connection to the model service was lost. Try again.")


def _timed_out(error: BaseException) -> bool:
    """Whether a "timeout" really was one: the aiohttp transport reports a refused or dropped
    connection as a connect timeout, keeping the real cause in the exception chain."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, (TimeoutError, aiohttp.ServerTimeoutError)):
            return True
        if isinstance(cause, (aiohttp.ClientConnectionError, ConnectionError)):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


def retry_after_seconds(headers: httpx2.Headers) -> int:
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return max(1, math.ceil(seconds))
    return DEFAULT_RETRY_AFTER


def _error_code(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return None
    inner = body.get("innererror")
    if isinstance(inner, dict) and inner.get("code") == "ResponsibleAIPolicyViolation":
        return "content_filter"
    code = body.get("code")
    return code if isinstance(code, str) else None
