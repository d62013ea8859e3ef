"""The conversation store of the app: whose history it keeps, the database opened and migrated at
start and closed at the end, and the turn the server writes itself as each answer ends, its question
with it (`begin_turn` and `TurnTranscript.end`, or `answer_ended` for an answer that kept its own
text). That write is one transaction in a task of its own, after the relay's work: a slow database
delays no answer, and an answer whose browser has gone is kept all the same."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from chat.config.settings import Settings
from chat.conversations.database import open_database
from chat.conversations.drafts import title_for
from chat.conversations.repository import (
    ConversationDraft,
    ConversationRepository,
    Full,
    Limits,
    StoredMessage,
    TooManyConversations,
    now_ms,
)
from chat.conversations.schema import migrate
from chat.log.lines import line
from chat.upstream.messages import Message

if TYPE_CHECKING:
    from chat.accounting.outcome import Outcome
    from chat.answers.running import ResumableAnswer

log = logging.getLogger("chat.conversations")

# How an answer ended, as the stored message says: the relay's outcome names mapped to four.
COMPLETED, STOPPED, CUT, FAILED = "completed", "stopped", "cut", "failed"
_CUT_OUTCOMES = frozenset({"client_gone", "client_too_slow", "server_shutdown", "abandoned"})
MAX_PENDING_WRITES = 1000  # beyond, a turn is not kept (and logged): the database is far behind


def answer_status(outcome: str) -> str:
    if outcome in (COMPLETED, STOPPED):
        return outcome
    return CUT if outcome in _CUT_OUTCOMES else FAILED


@dataclasses.dataclass(frozen=True, slots=True)
class EndedAnswer:
    """An answer as it ended, with the request that asked it, for the conversation it belongs to."""

    client: str
    conversation_id: str
    messages: Sequence[Message]  # as the request sent them, the question last
    status: str  # COMPLETED, STOPPED, CUT or FAILED
    content: str
    reasoning: str | None = None
    finish_reason: str | None = None
    deployment: str | None = None
    preset: str | None = None
    asked: int = 0  # when, in milliseconds since 1970


class ConversationStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.repository: ConversationRepository | None = None  # open from start to stop, when enabled
        self._named_tokens = frozenset(name for name, _ in settings.named_tokens if name is not None)
        self._writes: set[asyncio.Task[None]] = set()
        # Each conversation's server-side writes, in order: two turns ending together are kept as they ended.
        self._last_write: dict[tuple[str, str], asyncio.Task[None]] = {}
        # Resumable answers whose turn is kept, by their outcome (the one record the relay's handler and
        # the answer's task share) until the answer ends.
        self._resumable: dict[int, tuple[Outcome, TurnTranscript]] = {}

    @property
    def enabled(self) -> bool:
        """Whether the server keeps anyone's history: CHAT_HISTORY=server and a way to sign in."""
        return self.settings.history == "server" and self.settings.access_controlled

    def keeps_history(self, client: str) -> bool:
        """Signed-in clients: users (basic auth, a trusted proxy's header) and named API tokens."""
        if not self.enabled:
            return False
        kind, _, name = client.partition(":")
        return kind == "user" or (kind == "token" and name in self._named_tokens)

    async def open(self) -> None:
        database = await open_database(self.settings)
        try:
            await migrate(database)
        except BaseException:
            await database.close()
            raise
        self.repository = ConversationRepository(database, self.limits)

    @property
    def limits(self) -> Limits:
        return Limits(self.settings.max_conversations, self.settings.max_messages, self.settings.max_total_chars)

    async def close(self) -> None:
        if self._writes:
            await asyncio.wait(set(self._writes), timeout=self.settings.shutdown_timeout)
        if self.repository is not None:
            await self.repository.database.close()
            self.repository = None

    def begin_turn(
        self,
        client: str,
        conversation_id: str | None,
        messages: list[Message],
        preset: str | None,
        deployment: str,
    ) -> TurnTranscript | None:
        """A question asked in a conversation the server keeps: the transcript collects the answer for
        `end`, which keeps the turn. None when the server keeps nothing of it."""
        if conversation_id is None or self.repository is None or not self.keeps_history(client):
            return None
        return TurnTranscript(self, client, conversation_id, messages, preset, deployment)

    def answer_ended(self, answer: EndedAnswer) -> None:
        """Keep the turn of an answer as it ended: its question and the answer at the end of the
        conversation (one the server does not hold yet is made from the request's messages). Returns at
        once: the write is a task of its own, one transaction, after the answer.

        The one call for whatever ends an answer (the relay's handler, a resumable answer's task)."""
        if self.repository is None or not self.keeps_history(answer.client) or not answer.messages:
            return
        now = now_ms()
        asked = answer.asked or now
        reply = StoredMessage("assistant", answer.content, answer.status, answer.finish_reason, answer.reasoning, now)
        question = StoredMessage("user", answer.messages[-1]["content"], created=asked)
        visible = tuple(
            StoredMessage(message["role"], message["content"], created=asked)
            for message in answer.messages
            if message["role"] != "system"
        )
        new = ConversationDraft(title_for(answer.messages), answer.preset, answer.deployment, None, (*visible, reply))
        self._write(answer.client, answer.conversation_id, (question, reply), new)

    def follow_resumable(self, outcome: Outcome, transcript: TurnTranscript) -> None:
        """A resumable answer (chat/answers/) of a kept turn: kept from its log when it ends."""
        self._resumable[id(outcome)] = (outcome, transcript)

    def finished(self, outcome: Outcome) -> None:
        """As an observer of every request's end (`OutcomeObserver`): once the task of a resumable
        answer followed here is done, an answer it did not tell of (refused, or abandoned unread) is
        kept as it ended, without its text."""
        key = id(outcome)
        entry = self._resumable.get(key)
        task = asyncio.current_task()
        if entry is None or entry[0] is not outcome or task is None:
            return

        def done(_: object) -> None:
            if (left := self._resumable.pop(key, None)) is not None:
                left[1].end(outcome.name)

        task.add_done_callback(done)

    def resumable_finished(self, answer: ResumableAnswer) -> None:
        """As `LocalAnswers.on_finished`: a resumable answer ended with its events, kept from its log."""
        entry = self._resumable.get(id(answer.outcome))
        if entry is None or entry[0] is not answer.outcome:
            return
        del self._resumable[id(answer.outcome)]
        outcome, transcript = entry
        for _, event, data in answer.log.entries(0):
            if event == b"delta":
                transcript.text.append(orjson.loads(data)["content"])
            elif event == b"reasoning":
                transcript.reasoning.append(orjson.loads(data)["content"])
            elif event == b"done":
                transcript.finish_reason = orjson.loads(data).get("finish_reason")
        transcript.end(STOPPED if answer.ending == STOPPED else outcome.name)

    async def wait_for_writes(self) -> None:
        """Until the writes begun so far are done (tests, shutdown)."""
        while self._writes:
            await asyncio.wait(set(self._writes))

    def _write(
        self, client: str, conversation_id: str, adding: tuple[StoredMessage, ...], new: ConversationDraft | None
    ) -> None:
        if len(self._writes) >= MAX_PENDING_WRITES:
            log.warning(line("conversation_not_kept", client=client, why="too many writes waiting"))
            return
        key = (client, conversation_id)
        task = asyncio.create_task(self._append(self._last_write.get(key), client, conversation_id, adding, new))
        self._writes.add(task)
        self._last_write[key] = task

        def done(task: asyncio.Task[None]) -> None:
            self._writes.discard(task)
            if self._last_write.get(key) is task:
                del self._last_write[key]

        task.add_done_callback(done)

    async def _append(
        self,
        before: asyncio.Task[None] | None,
        client: str,
        conversation_id: str,
        adding: tuple[StoredMessage, ...],
        new: ConversationDraft | None,
    ) -> None:
        """One write, after the one before it; a failure is logged (the browser still holds the turn)."""
        if before is not None:
            await asyncio.wait([before])
        if (repository := self.repository) is None:
            return
        try:
            await repository.append(client, conversation_id, adding, new)
        except TooManyConversations:
            log.warning(line("conversation_not_kept", client=client, conversation=conversation_id, why="too many"))
        except Full as why:
            log.warning(line("conversation_not_kept", client=client, conversation=conversation_id, why=f"full: {why}"))
        except Exception as error:  # the drivers' errors share no base: each is logged, none ends the server
            log.warning(
                line("conversation_not_kept", client=client, conversation=conversation_id, why=str(error)[:200])
            )


class TurnTranscript:
    """The answer's text as the relay sends it, kept with its request's messages (which it holds until
    the answer ends) for the store."""

    __slots__ = (
        "_store", "asked", "client", "conversation_id", "deployment", "finish_reason", "messages", "preset",
        "reasoning", "text",
    )  # fmt: skip

    def __init__(
        self,
        store: ConversationStore,
        client: str,
        conversation_id: str,
        messages: list[Message],
        preset: str | None,
        deployment: str,
    ) -> None:
        self._store = store
        self.client = client
        self.conversation_id = conversation_id
        self.messages = messages
        self.preset = preset
        self.deployment = deployment
        self.asked = now_ms()
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.finish_reason: str | None = None

    def end(self, outcome: str) -> None:
        self._store.answer_ended(
            EndedAnswer(
                self.client,
                self.conversation_id,
                self.messages,
                answer_status(outcome),
                "".join(self.text),
                "".join(self.reasoning) or None,
                self.finish_reason,
                self.deployment,
                self.preset,
                self.asked,
            )
        )


conversations_key = web.AppKey("conversations_key", ConversationStore)


async def conversations_context(app: web.Application) -> AsyncIterator[None]:
    """Open and migrate the database at start when anyone's history is kept; at the end, the writes
    under way finish (within CHAT_SHUTDOWN_TIMEOUT) before it closes."""
    store = app[conversations_key]
    if store.enabled:
        await store.open()
    try:
        yield
    finally:
        await store.close()


async def run_migrations(settings: Settings) -> list[int]:
    """`chat-server migrate` and the start-up check: open the database, run what is missing, close it.
    DatabaseUnavailable names the setting when it cannot be opened."""
    database = await open_database(settings)
    try:
        return await migrate(database)
    finally:
        await database.close()
