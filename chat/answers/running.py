"""One resumable answer: a task of the server's own runs it from the model service into its log, so
that the request that asked may go and come back. It ends as the model ends it, by a Stop from any
process, by the server's shutdown, or once nobody has read it for the resume window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from chat.accounting.outcome import Outcome
from chat.answers.log import DELTA, REASONING, AnswerLog
from chat.answers.window import ResumeWindow
from chat.errors.chat_error import ChatError
from chat.relay.request import ChatRequest, with_system_prompt
from chat.relay.scope import ChatScope
from chat.upstream.events import Finished, ReasoningDelta, StreamEvent, TextDelta
from chat.upstream.service import Upstream

STOPPED = "stopped"
ABANDONED = "abandoned"
LEAVING = "leaving"  # the page is going (a reload, or a closed tab): ended unless it comes back in LEAVING_GRACE
LEAVING_GRACE = 3.0


class ResumableAnswer:
    """An answer, its log and its readers; `task` writes it."""

    __slots__ = (
        "client",
        "ending",
        "id",
        "log",
        "on_end",
        "on_window_expired",
        "opened",
        "outcome",
        "refusal",
        "secret_digest",
        "task",
        "window",
    )

    def __init__(self, answer_id: str, client: str, secret_digest: bytes, window_seconds: float) -> None:
        self.id = answer_id
        self.client = client
        self.secret_digest = secret_digest
        self.log = AnswerLog()
        self.window = ResumeWindow(window_seconds, self._window_expired)
        self.opened = asyncio.Event()  # the upstream answered, or `refusal` says why not
        self.refusal: ChatError | None = None
        self.ending: str | None = None  # STOPPED or ABANDONED once asked to end
        self.outcome: Outcome | None = None
        self.task: asyncio.Task[None] | None = None
        # Told when the window has run out with no reader here: ends the answer, or (readers in
        # other processes) sets the window again.
        self.on_window_expired: Callable[[ResumableAnswer], None] = lambda answer: answer.end(ABANDONED)
        self.on_end: Callable[[ResumableAnswer], Awaitable[None]] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, scope: ChatScope, chat: ChatRequest, upstream: Upstream, ceiling: int) -> None:
        self.outcome = scope.outcome
        self.task = asyncio.create_task(self._run(scope, chat, upstream, ceiling))

    def end(self, how: str) -> None:
        """Stop it now (STOPPED), drop it unread (ABANDONED): the upstream is closed at once. LEAVING:
        dropped unless a reader comes back within LEAVING_GRACE."""
        if how == LEAVING:
            if self.running:
                self.window.leaving(LEAVING_GRACE)
            return
        if self.running and self.ending is None:
            self.ending = how
            assert self.task is not None
            self.task.cancel()

    def _window_expired(self) -> None:
        if self.running:
            self.on_window_expired(self)

    async def _run(self, scope: ChatScope, chat: ChatRequest, upstream: Upstream, ceiling: int) -> None:
        try:
            try:
                async with scope:
                    messages = with_system_prompt(chat.messages, chat.system_prompt)
                    await scope.admit(messages, ceiling)
                    answer = upstream.answer(chat.deployment, messages, chat.max_tokens, chat.reasoning_effort)
                    completion = scope.asking(answer, chat.deployment)
                    del chat, messages, answer
                    async with completion as events:
                        self.opened.set()
                        await self._write(events, scope)
            except ChatError as error:  # recorded by the scope; a shutdown comes as one
                if not self.opened.is_set():
                    self.refusal = error
                else:
                    self.log.finish("error", error.payload())
            except asyncio.CancelledError:
                if self.ending is None:
                    raise
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                if self.ending == STOPPED:
                    self.log.finish("done", {"finish_reason": "stopped", "usage": counted_usage(scope.outcome)})
        finally:
            self.opened.set()
            self.window.cancel()
            if self.on_end is not None:
                await self.on_end(self)

    async def _write(self, events: AsyncIterator[StreamEvent], scope: ChatScope) -> None:
        """The relay loop, into the log: as fast as the model writes, whoever reads."""
        outcome = scope.outcome
        log = self.log
        async for event in events:
            if isinstance(event, TextDelta):
                if outcome.first_token is None:
                    outcome.first_token = time.monotonic()
                outcome.frames += 1
                outcome.text_chars += len(event.content)
                log.append(DELTA, event.content)
            elif isinstance(event, ReasoningDelta):
                outcome.frames += 1
                outcome.reasoning_chars += len(event.content)
                log.append(REASONING, event.content)
            elif isinstance(event, Finished):
                outcome.name = "completed"
                outcome.usage = event.usage
                await scope.settle_quota()
                log.finish("done", {"finish_reason": event.finish_reason, "usage": event.usage})


def counted_usage(outcome: Outcome) -> dict[str, Any] | None:
    """What the usage accounting counted for an answer that was stopped: as the model said, else estimated."""
    tokens = outcome.tokens()
    if tokens is None:
        return None
    usage: dict[str, Any] = {
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "total_tokens": tokens.total,
    }
    if tokens.estimated:
        usage["estimated"] = True
    return usage
