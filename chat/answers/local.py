"""The resumable answers of this process, by id: each from its start until a resume window after its
end; the readers of each client, so that none opens more than CHAT_MAX_STREAMS_PER_CLIENT; and, with
Redis, their copy there (`shared.py`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

from aiohttp import web

from chat.answers.running import ABANDONED, ResumableAnswer
from chat.answers.secret import may_read, new_answer_id, new_secret
from chat.answers.shared import SharedAnswers
from chat.config.settings import Settings, settings_key
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.open_streams import OpenStreams
from chat.state.shared_state import SharedState

READERS = "readers"  # their places in Redis: chat:readers:{client}


class LocalAnswers:
    def __init__(self, settings: Settings, shared: SharedState) -> None:
        self.window = settings.resume_window
        self._max_readers = settings.max_streams_per_client
        self._answers: dict[str, ResumableAnswer] = {}
        self._readers: collections.Counter[str] = collections.Counter()
        self._reader_tasks: set[asyncio.Task[object]] = set()
        self.shared = SharedAnswers(shared, settings, self._answers.get) if shared.enabled else None
        # Told of each answer that ended with its events kept (completed, stopped, failed): where
        # a store of conversations can save it, whoever is reading.
        self.on_finished: list[Callable[[ResumableAnswer], None]] = []

    def __len__(self) -> int:
        return len(self._answers)

    async def create(self, client: str) -> tuple[ResumableAnswer, str]:
        """A new answer of `client`, and the secret its page keeps; in Redis too when it is shared."""
        secret, kept = new_secret()
        answer = ResumableAnswer(new_answer_id(), client, kept, self.window)
        answer.on_end = self._ended
        self._answers[answer.id] = answer
        if self.shared is not None:
            await self.shared.announce(answer)
        return answer, secret

    def find(self, answer_id: str, client: str, secret: str | None) -> ResumableAnswer | None:
        answer = self._answers.get(answer_id)
        if answer is None or not may_read(answer.client, answer.secret_digest, client, secret):
            return None
        return answer

    @contextlib.asynccontextmanager
    async def reading(self, client: str, places: OpenStreams) -> AsyncIterator[None]:
        """One of the client's reader places for the calling task; 429 when it holds them all. With
        Redis the places are leases there, as the open streams' are, so the readers of one client are
        counted across every process; without it (or while it is away) in this process."""
        async with places.shared_place(READERS, client, _too_many_readers) as shared:
            with contextlib.nullcontext() if shared else self._counted(client):
                task = asyncio.current_task()
                assert task is not None
                self._reader_tasks.add(task)
                try:
                    yield
                finally:
                    self._reader_tasks.discard(task)

    @contextlib.contextmanager
    def _counted(self, client: str) -> Iterator[None]:
        held = self._readers[client]
        if held >= self._max_readers:
            raise _too_many_readers(held)
        self._readers[client] += 1
        try:
            yield
        finally:
            self._readers[client] -= 1
            if not self._readers[client]:
                del self._readers[client]

    def close_readers(self) -> None:
        """At shutdown: readers end their streams at once (their pages come back to another process)."""
        for task in self._reader_tasks:
            task.cancel()

    async def wait_for_answers(self, seconds: float) -> None:
        tasks = [answer.task for answer in self._answers.values() if answer.task is not None and answer.running]
        if tasks:
            await asyncio.wait(tasks, timeout=seconds)

    async def _ended(self, answer: ResumableAnswer) -> None:
        kept = answer.refusal is None and answer.ending != ABANDONED
        if self.shared is not None:
            await self.shared.settle(answer, kept=kept)
        if not kept:
            self._answers.pop(answer.id, None)
            return
        asyncio.get_running_loop().call_later(self.window, self._answers.pop, answer.id, None)
        for hook in self.on_finished:
            hook(answer)


def _too_many_readers(held: int) -> ChatError:
    return ChatError(catalogue.TOO_MANY_READERS, held=held, retry_after=1)


answers_key = web.AppKey("answers_key", LocalAnswers)


async def answers_context(app: web.Application) -> AsyncIterator[None]:
    """With Redis: the stops sent to this process and the renewal of its answers' leases, while it runs.
    At the end the answers still running (cancelled by shutdown) write their last event first."""
    answers = app[answers_key]
    shared = answers.shared
    tasks = [asyncio.create_task(shared.listen_for_stops()), asyncio.create_task(shared.renew())] if shared else []
    if shared is not None:
        await shared.subscribed()
    try:
        yield
    finally:
        await answers.wait_for_answers(app[settings_key].shutdown_timeout)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if shared is not None:
            await shared.close()
