"""`POST /api/chat`: relay one answer from the model service to one browser as it is written."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web

from chat.access.client_access import client_access
from chat.access.sign_in import client_id_key
from chat.access.state import access_state_key
from chat.accounting.outcome import Outcome, observers_key
from chat.accounting.quota import quota_key
from chat.config.settings import settings_key
from chat.errors.chat_error import ChatError
from chat.relay.request import read_chat_request, with_system_prompt
from chat.relay.sse import ClientTooSlow, SseResponse, frame
from chat.state.open_streams import OpenStreams, open_streams_key
from chat.state.shared_state import shared_state_key
from chat.upstream.events import Finished, ReasoningDelta, StreamEvent, TextDelta
from chat.upstream.service import upstream_key

SHUTDOWN = ChatError(503, "server_shutdown", "The server is restarting. Send your message again in a moment.")


async def post_chat(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[settings_key]
    open_streams = app[open_streams_key]
    outcome = Outcome(request[client_id_key])
    observers = app[observers_key]
    sse: SseResponse | None = None
    try:
        async with open_streams.admit(outcome.client):
            chat = await read_chat_request(request, settings, client_access(request))
            if (quota := app[quota_key]).enabled:
                await quota.check(outcome.client)  # before the upstream request; an answer begun is never cut
            messages = with_system_prompt(chat.messages, chat.system_prompt)
            outcome.deployment = chat.deployment
            outcome.prompt_chars = sum(len(message["content"]) for message in messages)
            for observer in observers:
                observer.started(outcome)
            app[shared_state_key].answer_started()
            completion = app[upstream_key].answer(chat.deployment, messages, chat.max_tokens, chat.reasoning_effort)
            del chat, messages  # the completion holds the conversation until it is sent, and no longer
            try:
                async with completion as upstream:
                    sse = await SseResponse.start(request, settings.ping_interval, settings.write_timeout)
                    try:
                        await relay_events(upstream, sse, outcome)
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
            finally:
                outcome.chunks = completion.chunks
                outcome.attempts, outcome.failovers = completion.attempts, completion.failovers
                outcome.endpoint = completion.endpoint.host if completion.endpoint else None
    except ChatError as error:
        outcome.name = error.code
        outcome.refused = error.status < 500 and not outcome.attempts  # ours, not the model service's
        return error.to_response()
    except asyncio.CancelledError:
        _resume_if_shutting_down(open_streams)  # shutdown before the stream began, or a second one after
        outcome.name = SHUTDOWN.code
        return sse.response if sse is not None else SHUTDOWN.to_response()
    finally:
        outcome.finished = time.monotonic()
        outcome.log(app[access_state_key].refusals)
        if outcome.deployment is not None:  # the request was read: the observers were told it started
            for observer in observers:
                observer.finished(outcome)
            app[shared_state_key].answer_counted()
        else:
            for observer in observers:
                observer.refused(outcome)


def _resume_if_shutting_down(open_streams: OpenStreams) -> None:
    """Swallow the cancellation that `close_all` sent; any other one (client gone) goes on."""
    if not open_streams.closing:
        raise  # noqa: PLE0704 - re-raises the CancelledError being handled
    task = asyncio.current_task()
    assert task is not None
    task.uncancel()


async def relay_events(upstream: AsyncIterator[StreamEvent], sse: SseResponse, outcome: Outcome) -> None:
    """Send each event as it comes: one frame per upstream read, then `done`.

    While the client is slow, `send` waits and the upstream's bytes queue in the socket; the next
    read then carries many chunks, which go out as a single frame: memory stays flat.
    """
    async for event in upstream:
        if isinstance(event, TextDelta):
            if outcome.first_token is None:
                outcome.first_token = time.monotonic()
            outcome.frames += 1
            outcome.text_chars += len(event.content)
            await sse.send(frame("delta", {"content": event.content}))
        elif isinstance(event, ReasoningDelta):
            outcome.frames += 1
            outcome.reasoning_chars += len(event.content)
            await sse.send(frame("reasoning", {"content": event.content}))
        elif isinstance(event, Finished):
            outcome.name = "completed"
            outcome.usage = event.usage
            await sse.send(frame("done", {"finish_reason": event.finish_reason, "usage": event.usage}))
