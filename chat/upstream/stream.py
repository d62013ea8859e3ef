"""One answer from the model service, opened through the SDK and read raw.

The SDK builds the URL, signs the request, retries before the first byte and types the errors.
The body is read raw: decoding SSE and JSON here costs a fraction of one pydantic model per chunk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import httpx2
import openai

from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.internals.private_api import aiohttp_response_of, drop_headers
from chat.upstream.client import SignInFailed
from chat.upstream.deadline import ReadDeadline
from chat.upstream.direct_post import RetryBySdk
from chat.upstream.events import Finished, StreamEvent, TextDelta
from chat.upstream.failures import (
    TRANSPORT_ERRORS,
    SettingNames,
    all_throttled,
    failure_before_stream,
    failure_of_transport,
    refused_parameter,
    retry_after,
    sign_in_failed,
    stalled,
)
from chat.upstream.pool import Endpoint, EndpointPool

log = logging.getLogger("chat.upstream")


class Reader(Protocol):
    """A dialect's decoder: raw bytes of one read in, the events they complete out."""

    chunks: int
    done: bool
    failure: ChatError | None

    def feed(self, raw: bytes) -> list[StreamEvent]: ...

    def finished(self) -> Finished: ...


class CompletionStream:
    """`async with` opens the answer (a refusal raises ChatError) and gives an async iterator of its
    events, one per upstream read; leaving the block always closes the upstream request."""

    def __init__(
        self,
        pool: EndpointPool,
        deployment: str,
        path: str,
        body: dict[str, Any],
        reader: Callable[[], Reader],
        *,
        first_token_timeout: float,
        read_timeout: float,
        optional: tuple[str, ...] = (),
        on_refused: Callable[[str], None] = lambda parameter: None,
        names: SettingNames | None = None,
    ) -> None:
        self._pool = pool
        self._deployment = deployment
        self._path = path
        self._body = body
        self._reader = reader
        self._first_token_timeout = first_token_timeout
        self._read_timeout = read_timeout
        self._optional = list(optional)
        self._on_refused = on_refused
        self._names = names  # the settings a refusal tells the administrator to check
        self._asked: Endpoint | None = None  # the endpoint asked last
        self._response: httpx2.Response | aiohttp.ClientResponse | None = None
        self._events: AsyncGenerator[StreamEvent, None] | None = None
        self.chunks = 0  # upstream chunks decoded so far, for the log
        self.endpoint: Endpoint | None = None  # the one that answered
        self.attempts: list[tuple[str, str]] = []  # (endpoint host, HTTP status or failure) of each request
        self.failovers: list[tuple[str, str]] = []  # (endpoint host, why) of each one left for the next

    async def __aenter__(self) -> AsyncIterator[StreamEvent]:
        try:
            self._response = await self._open()
        except openai.APIError as error:
            deployment = str(self._body.get("model", self._deployment))  # as the endpoint was asked
            asked = self._asked.config if self._asked is not None else None
            failure = failure_before_stream(error, self._names, asked, deployment)
            if failure.kind is catalogue.OPERATION_NOT_SUPPORTED.kind:
                log.warning(
                    "deployment %.100r works only through the Responses API: add it to CHAT_RESPONSES_DEPLOYMENTS",
                    self._deployment,
                )
            raise failure from error
        except SignInFailed as error:
            log.warning("could not sign in to the model service: %.300r", str(error))
            raise sign_in_failed() from error
        self._forget_request()
        self._events = self._read(body_chunks(self._response))
        return self._events

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._events is not None:
            await self._events.aclose()
        response = self._response
        if isinstance(response, aiohttp.ClientResponse):
            # An answer cut short: its connection closes at once, which stops the model.
            response.release() if response.content.is_eof() else response.close()
        elif response is not None:
            await response.aclose()

    def _forget_request(self) -> None:
        """Drop the conversation once it is sent: the body (its messages) and the SDK's serialized
        copy, which the response's request holds. With a 200,000-character conversation they were
        1.5 MiB of every open stream, for nothing once the answer has begun."""
        self._body = {}
        if isinstance(self._response, httpx2.Response):
            sent = self._response.request
            self._response.request = httpx2.Request(sent.method, sent.url)

    async def _open(self) -> httpx2.Response | aiohttp.ClientResponse:
        """Ask the endpoints in turn until one answers: before the first byte reaches the browser,
        a throttled or failing endpoint costs only the time of its own refusal."""
        last: openai.APIError | None = None
        for endpoint in self._pool.to_try():
            self._asked = endpoint
            self._body["model"] = endpoint.config.deployment(self._deployment)
            try:
                response = await self._post(endpoint)
            except openai.RateLimitError as error:
                self.attempts.append((endpoint.host, "429"))
                if not self._pool.fails_over:
                    raise
                self._pool.throttled(endpoint, retry_after(error.response.headers))
                self.failovers.append((endpoint.host, "rate_limited"))
                last = error
            except (openai.InternalServerError, openai.APIConnectionError) as error:
                failure = str(error.status_code) if isinstance(error, openai.APIStatusError) else _failure_name(error)
                self.attempts.append((endpoint.host, failure))
                self._pool.failed(endpoint, failure)
                if not self._pool.fails_over:
                    raise
                self.failovers.append((endpoint.host, failure))
                last = error
            except openai.APIStatusError as error:
                self.attempts.append((endpoint.host, str(error.status_code)))
                raise
            else:
                status = response.status if isinstance(response, aiohttp.ClientResponse) else response.status_code
                self.attempts.append((endpoint.host, str(status)))
                self._pool.succeeded(endpoint)
                self.endpoint = endpoint
                return response
        if last is None or all(e.throttled and e.resting_until > time.monotonic() for e in self._pool.endpoints):
            raise all_throttled(self._pool.soonest_retry())
        raise last

    async def _post(self, endpoint: Endpoint) -> httpx2.Response | aiohttp.ClientResponse:
        while True:
            try:
                return await self._send(endpoint)
            except openai.BadRequestError as error:
                # An optional parameter this model does not take (a reasoning summary, an effort):
                # ask again without it, and the caller remembers for the next answers.
                parameter = refused_parameter(error, self._optional)
                if parameter is None:
                    raise
                log.warning("deployment %.100r does not take %r: asking without it", self._deployment, parameter)
                self._optional.remove(parameter)
                without(self._body, parameter)
                self._on_refused(parameter)

    async def _send(self, endpoint: Endpoint) -> httpx2.Response | aiohttp.ClientResponse:
        """Sent directly where the endpoint allows (chat/upstream/direct_post.py); the SDK makes
        the attempts after a first one it would retry, and every request without a direct path."""
        client = endpoint.client
        if endpoint.direct is not None:
            try:
                return await endpoint.direct.post(self._path, self._body)
            except RetryBySdk as retry:
                log.info("retrying the request to %.100r in %.2f s: %.200s", endpoint.host, retry.delay, retry)
                await asyncio.sleep(retry.delay)
                client = client.with_options(max_retries=client.max_retries - 1)
        # `post` rather than the typed methods: the body is already checked, so the SDK's typed
        # transform of every message (40% of its request time) is skipped; URL, auth, retries and
        # typed errors stay the SDK's.
        return await client.post(self._path, cast_to=httpx2.Response, body=self._body, stream=True)

    async def _read(self, body: AsyncIterator[bytes]) -> AsyncGenerator[StreamEvent, None]:
        reader = self._reader()
        # A reasoning model may think silently for minutes; once the answer has begun, a long
        # silence is a stall.
        with ReadDeadline(self._first_token_timeout) as deadline:
            while True:
                deadline.begin()
                try:
                    raw = await anext(body)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if deadline.expired():
                        raise stalled() from None
                    raise
                except TRANSPORT_ERRORS as error:
                    raise failure_of_transport(error) from error
                deadline.end()
                events = reader.feed(raw)
                self.chunks = reader.chunks
                for event in events:
                    if isinstance(event, TextDelta):
                        deadline.shorten(self._read_timeout)
                    yield event
                if reader.failure:
                    raise reader.failure
                if reader.done:
                    break
        yield reader.finished()


def without(body: dict[str, Any], parameter: str) -> None:
    """Remove a dotted parameter (`reasoning.summary`) from a request body, and an object it empties."""
    *parents, name = parameter.split(".")
    holders = [body]
    for parent in parents:
        holders.append(holders[-1].get(parent) or {})
    holders[-1].pop(name, None)
    for parent, holder in zip(reversed(parents), reversed(holders[:-1]), strict=True):
        if not holder.get(parent):
            holder.pop(parent, None)


def body_chunks(response: httpx2.Response | aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body as it arrives. Sent directly, aiohttp's reader (which decompresses, if need be);
    under the SDK's aiohttp transport, straight from aiohttp's reader too: per read that skips
    httpx2's stream, decoder and chunker layers. Elsewhere, httpx2's bytes."""
    if isinstance(response, aiohttp.ClientResponse):
        drop_headers(response)  # nothing reads them again
        return response.content.iter_any()
    raw = aiohttp_response_of(response)
    if raw is not None and response.headers.get("content-encoding", "identity") == "identity":
        return raw.content.iter_any()
    return response.aiter_bytes()


def _failure_name(error: openai.APIConnectionError) -> str:
    return "timeout" if isinstance(error, openai.APITimeoutError) else "connection_error"
