"""`POST /api/chat`: relay one completion from the model service to one browser as it is written."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator

from aiohttp import web

from .chat_request import read_chat_request, with_system_prompt
from .errors import ChatError
from .keys import client_id_key, limits_key, open_streams_key, settings_key, upstream_client_key
from .sse import ClientTooSlow, SseResponse, frame
from .upstream import TRANSPORT_ERRORS, CompletionReader, CompletionStream, failure_of_transport

log = logging.getLogger("chat.relay")

SHUTDOWN = ChatError(503, "server_shutdown", "The server is restarting. Send your message again in a moment.")


class OpenStreams:
    """The handler tasks with an event stream open, so shutdown can end each one politely."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        try:
            yield
        finally:
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    async def wait_until_idle(self) -> None:
        await self._idle.wait()

    def close_all(self) -> None:
        """Interrupt every open stream; each tells its client `server_shutdown` and returns."""
        self.closing = True
        for task in self._tasks:
            task.cancel()


class Outcome:
    """What one request came to, for its single log line."""

    __slots__ = ("client", "name", "chunks", "frames", "started", "first_token")

    def __init__(self, client: str) -> None:
        self.client = client
        self.name = "client_gone"
        self.chunks = 0
        self.frames = 0
        self.started = time.monotonic()
        self.first_token: float | None = None

    def log(self) -> None:
        now = time.monotonic()
        ttft = f"{(self.first_token - self.started) * 1000:.0f}" if self.first_token else "-"
        log.info("chat outcome=%s client=%s chunks=%d frames=%d ttft_ms=%s duration_ms=%.0f",
                 self.name, self.client, self.chunks, self.frames, ttft, (now - self.started) * 1000)


async def post_chat(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[settings_key]
    open_streams = app[open_streams_key]
    outcome = Outcome(request[client_id_key])
    sse: SseResponse | None = None
    try:
        with open_streams.track(), app[limits_key].admit(outcome.client):
            chat = await read_chat_request(request, settings)
            messages = with_system_prompt(chat.messages, settings.system_prompt)
            completion = CompletionStream(app[upstream_client_key], chat.deployment, messages, chat.max_tokens)
            async with completion as upstream:
                sse = await SseResponse.start(request, settings.ping_interval, settings.write_timeout)
                try:
                    await relay_completion(upstream, sse, outcome)
                except ChatError as error:
                    outcome.name = error.code
                    await sse.send_unless_gone(frame("error", error.payload()))
                except ClientTooSlow:
                    outcome.name = "client_too_slow"
                except ConnectionError:
                    outcome.name = "client_gone"  # seen at a write: the server runs without cancellation
                except asyncio.CancelledError:
                    _resume_if_shutting_down(open_streams)
                    outcome.name = SHUTDOWN.code
                    await sse.send_unless_gone(frame("error", SHUTDOWN.payload()))
                finally:
                    await sse.close()
                return sse.response
    except ChatError as error:
        outcome.name = error.code
        return error.to_response()
    except asyncio.CancelledError:
        _resume_if_shutting_down(open_streams)  # shutdown before the stream began, or a second one after
        outcome.name = SHUTDOWN.code
        return sse.response if sse is not None else SHUTDOWN.to_response()
    finally:
        outcome.log()


def _resume_if_shutting_down(open_streams: OpenStreams) -> None:
    """Swallow the cancellation that `close_all` sent; any other one (client gone) goes on."""
    if not open_streams.closing:
        raise  # noqa: PLE0704 - re-raises the CancelledError being handled
    task = asyncio.current_task()
    assert task is not None
    task.uncancel()


async def relay_completion(upstream: AsyncIterator[bytes], sse: SseResponse, outcome: Outcome) -> None:
    """Copy text to the client as it arrives, one frame per upstream read, then `done`.

    While the client is slow, `send` waits and the upstream's bytes queue in the socket; the next
    read then carries many chunks, which go out as a single frame: memory stays flat.
    """
    reader = CompletionReader()
    try:
        while True:
            try:
                raw = await anext(upstream)
            except StopAsyncIteration:
                break
            except TRANSPORT_ERRORS as error:  # the upstream's only: a failed write to the client is not one
                raise failure_of_transport(error) from error
            text = reader.feed(raw)
            if text:
                if outcome.first_token is None:
                    outcome.first_token = time.monotonic()
                outcome.frames += 1
                await sse.send(frame("delta", {"content": text}))
            if reader.failure:
                raise reader.failure
            if reader.done:
                break
    finally:
        outcome.chunks = reader.chunks
    if not reader.done and reader.finish_reason is None:
        raise ChatError(502, "upstream_error", "The model service ended the answer early. Try again.")
    outcome.name = "completed"
    await sse.send(frame("done", {"finish_reason": reader.finish_reason or "stop", "usage": reader.usage}))
