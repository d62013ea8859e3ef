"""`POST /api/chat`: relay one answer from the model service to one browser as it is written."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web

from chat.access.client_access import client_access_key
from chat.answers.views import answer_resumably
from chat.config.settings import settings_key
from chat.conversations.store import TurnTranscript, conversations_key
from chat.errors import error_response
from chat.errors.chat_error import ChatError
from chat.relay.request import read_chat_request, with_system_prompt
from chat.relay.scope import SHUTDOWN, ChatScope
from chat.relay.sse import ClientTooSlow, SseResponse, frame, ping_ticker_key
from chat.upstream.events import Finished, ReasoningDelta, StreamEvent, TextDelta
from chat.upstream.service import upstream_key


async def post_chat(request: web.Request) -> web.StreamResponse:
    settings = request.app[settings_key]
    scope = ChatScope(request)
    sse: SseResponse | None = None
    transcript: TurnTranscript | None = None
    try:
        async with scope:
            # The body first: a client still sending it holds no stream place and no quota.
            chat = await read_chat_request(request, settings, request[client_access_key])
            if chat.resumable:  # kept on the server for a reader that comes back: chat/answers/
                successor = scope.hand_over()
                store = request.app[conversations_key]
                kept = store.begin_turn(
                    successor.outcome.client, chat.conversation_id, chat.messages, chat.preset, chat.deployment
                )
                if kept is not None:
                    store.follow_resumable(successor.outcome, kept)
                return await answer_resumably(request, successor, chat)
            messages = with_system_prompt(chat.messages, chat.system_prompt)
            await scope.admit(messages, chat.max_tokens or settings.token_ceiling)
            # A signed-in client's turn, kept as the answer ends (in a task: the relay does not wait for it).
            transcript = request.app[conversations_key].begin_turn(
                scope.outcome.client, chat.conversation_id, chat.messages, chat.preset, chat.deployment
            )
            answer = request.app[upstream_key].answer(chat.deployment, messages, chat.max_tokens, chat.reasoning_effort)
            completion = scope.asking(answer, chat.deployment)
            del chat, messages, answer  # the completion holds the conversation until it is sent, and no longer
            async with completion as upstream:
                sse = await SseResponse.start(request, request.app[ping_ticker_key], settings.write_timeout)
                await relay_answer(upstream, sse, scope, transcript)
            return sse.response
    except ChatError as error:  # recorded by the scope
        if sse is not None:
            return sse.response
        if transcript is not None:  # the model service failed before the answer began
            transcript.end(error.code)
        return error_response(error)


async def relay_answer(
    upstream: AsyncIterator[StreamEvent], sse: SseResponse, scope: ChatScope, transcript: TurnTranscript | None = None
) -> None:
    """The answer, once its stream has begun: however it ends, the browser is told how, if it is still
    there, and the conversation store keeps it as it ended (`transcript`, for a signed-in client's)."""
    outcome = scope.outcome
    try:
        await relay_events(upstream, sse, scope, transcript)
    except ChatError as error:
        outcome.name = error.code
        await sse.send_unless_gone(frame("error", error.payload()))
    except ClientTooSlow:
        outcome.name = "client_too_slow"
    except ConnectionError:
        outcome.name = "client_gone"  # seen at a write: the server runs without cancellation
    except asyncio.CancelledError:
        if not scope.resumed_after_shutdown():
            raise
        outcome.name = SHUTDOWN.code
        await sse.send_unless_gone(frame("error", SHUTDOWN.payload()))
    finally:
        await sse.close()
        if transcript is not None:
            transcript.end(outcome.name)


async def relay_events(
    upstream: AsyncIterator[StreamEvent], sse: SseResponse, scope: ChatScope, transcript: TurnTranscript | None = None
) -> None:
    """Send each event as it comes: one frame per upstream read, then `done` (once the quota has
    counted the answer).

    While the client is slow, `send` waits and the upstream's bytes queue in the socket; the next
    read then carries many chunks, which go out as a single frame: memory stays flat.
    """
    outcome = scope.outcome
    async for event in upstream:
        if isinstance(event, TextDelta):
            if outcome.first_token is None:
                outcome.first_token = time.monotonic()
            outcome.frames += 1
            outcome.text_chars += len(event.content)
            if transcript is not None:
                transcript.text.append(event.content)
            await sse.send(frame("delta", {"content": event.content}))
        elif isinstance(event, ReasoningDelta):
            outcome.frames += 1
            outcome.reasoning_chars += len(event.content)
            if transcript is not None:
                transcript.reasoning.append(event.content)
            await sse.send(frame("reasoning", {"content": event.content}))
        elif isinstance(event, Finished):
            outcome.name = "completed"
            outcome.usage = event.usage
            if transcript is not None:
                transcript.finish_reason = event.finish_reason
            await scope.settle_quota()
            await sse.send(frame("done", {"finish_reason": event.finish_reason, "usage": event.usage}))
