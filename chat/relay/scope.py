"""One chat request from its body to its log line: a place among the open streams and a reservation
of the daily quota once the body is read, the record of what it came to, and the observers told of
it once it ends."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from types import TracebackType

from aiohttp import web

from chat.access.client_access import client_access_key
from chat.access.state import access_state_key
from chat.accounting.outcome import Outcome, observers_key
from chat.accounting.quota import quota_key
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.open_streams import open_streams_key
from chat.upstream.messages import Message
from chat.upstream.stream import CompletionStream

SHUTDOWN = ChatError(catalogue.SERVER_SHUTDOWN)


class ChatScope:
    """`async with ChatScope(request) as outcome:` records the request; `await scope.admit(...)`, once
    its body is read and checked, takes the client's stream place and reserves its quota for the rest
    of the block (a body still arriving holds neither). When the block ends, however it ends, the
    scope gives the place back, fills in the outcome, writes the log line and tells the observers.

    A `ChatError` leaves the block as it came, recorded; a cancellation sent by shutdown leaves it as
    `SHUTDOWN`, so that the handler answers both the same way.
    """

    def __init__(self, request: web.Request) -> None:
        self._app = request.app
        self.open_streams = request.app[open_streams_key]
        self.outcome = Outcome(request[client_access_key].client)
        self._completion: CompletionStream | None = None
        self._admission: contextlib.AbstractAsyncContextManager[None] | None = None
        self._handed_over = False

    def hand_over(self) -> ChatScope:
        """The rest of the request, for a task of the server's own (a resumable answer outlives its
        request): this scope's block then ends without a record, and the block of the one returned,
        entered in that task, admits, records and tells the observers instead."""
        successor = copy.copy(self)
        self._handed_over = True
        return successor

    async def __aenter__(self) -> Outcome:
        return self.outcome

    async def admit(self, messages: list[Message], ceiling: int) -> None:
        """A stream place, then the quota: the prompt's estimate and the answer's ceiling reserved
        before the upstream request (an answer begun is never cut short by the quota)."""
        admission = self.open_streams.admit(self.outcome.client)
        await admission.__aenter__()
        self._admission = admission
        outcome = self.outcome
        outcome.prompt_chars = sum(len(message["content"]) for message in messages)
        outcome.ceiling = ceiling
        if (quota := self._app[quota_key]).enabled:
            outcome.reservation = await quota.reserve(outcome.client, outcome.prompt_estimate + ceiling)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._handed_over:
            return
        try:
            if self._admission is not None:
                await self._admission.__aexit__(kind, error, trace)
        finally:
            self._leave(error)

    def _leave(self, error: BaseException | None) -> None:
        self._end(error)
        if isinstance(error, asyncio.CancelledError) and self.resumed_after_shutdown():
            raise SHUTDOWN from None  # before the stream began, or a second cancellation after

    async def settle_quota(self) -> None:
        """The answer is complete: its cost counted before the client hears so (its next request may
        follow at once)."""
        if (quota := self._app[quota_key]).enabled:
            await quota.settle(self.outcome)

    def asking(self, completion: CompletionStream, deployment: str) -> CompletionStream:
        """The upstream request about to be made: the outcome records what it costs and how it went."""
        self._completion = completion
        self.outcome.deployment = deployment
        return completion

    def resumed_after_shutdown(self) -> bool:
        """Whether the cancellation being handled is the one `close_all` sent, which is then undone so
        that the client can be told; any other one (the client left) must go on."""
        if not self.open_streams.closing:
            return False
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
        return True

    def _end(self, error: BaseException | None) -> None:
        outcome = self.outcome
        if (completion := self._completion) is not None:
            outcome.chunks = completion.chunks
            outcome.attempts, outcome.failovers = completion.attempts, completion.failovers
            outcome.endpoint = completion.endpoint.host if completion.endpoint else None
        if isinstance(error, ChatError):
            outcome.name = error.code
            outcome.refused = error.status < 500 and not outcome.attempts  # ours, not the model service's
        elif isinstance(error, asyncio.CancelledError) and self.open_streams.closing:
            outcome.name = SHUTDOWN.code
        outcome.finished = time.monotonic()
        outcome.log(self._app[access_state_key].refusals)
        for observer in self._app[observers_key]:
            observer.finished(outcome)
