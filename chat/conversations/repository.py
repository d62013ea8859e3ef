"""The conversations of each client, read and written in transactions: listed newest first (a page at
a time, or those whose title or text match a search), whole, replaced, renamed, deleted, and the turn
the server appends as an answer ends. Each write raises the conversation's version, which its ETag
names; a write that names an ETag no longer current is refused (`Changed`)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence

from chat.conversations.database import Connection, Database, Row

_WORDS = re.compile(r"\w+")
MAX_SEARCH_WORDS = 16


@dataclasses.dataclass(frozen=True, slots=True)
class StoredMessage:
    role: str
    content: str
    status: str | None = None
    finish_reason: str | None = None
    reasoning: str | None = None
    created: int = 0

    def as_json(self) -> dict[str, object]:
        shown: dict[str, object] = {"role": self.role, "content": self.content, "created": self.created}
        for name in ("status", "finish_reason", "reasoning"):
            if (value := getattr(self, name)) is not None:
                shown[name] = value
        return shown


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    """A conversation as the list shows it."""

    id: str
    title: str
    preset: str | None
    deployment: str | None
    created: int
    updated: int
    version: int

    @property
    def etag(self) -> str:
        # `created` too: a conversation deleted and made again starts at version 1, and must not
        # match an ETag of the one before.
        return f'"{self.created:x}.{self.version}"'

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "preset": self.preset,
            "deployment": self.deployment,
            "created": self.created,
            "updated": self.updated,
            "etag": self.etag,
        }

    @property
    def cursor(self) -> str:
        """What `?before=` takes to go on after this one."""
        return f"{self.updated}.{self.id}"


@dataclasses.dataclass(frozen=True, slots=True)
class Conversation:
    summary: Summary
    messages: tuple[StoredMessage, ...]

    def as_json(self) -> dict[str, object]:
        return {**self.summary.as_json(), "messages": [message.as_json() for message in self.messages]}


@dataclasses.dataclass(frozen=True, slots=True)
class ConversationDraft:
    """A conversation as a client writes it (PUT), checked."""

    title: str
    preset: str | None
    deployment: str | None
    created: int | None
    messages: tuple[StoredMessage, ...]


class Changed(Exception):
    """The conversation's ETag is not the one the write named (or it is gone, or it exists already)."""

    def __init__(self, current: str | None) -> None:
        super().__init__(current)
        self.current = current


class TooManyConversations(Exception):
    pass


class Full(Exception):
    """The turn would take the conversation past its message or character limit."""


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    conversations: int
    messages: int
    total_chars: int


_SUMMARY = "c.id, c.title, c.preset, c.deployment, c.created, c.updated, c.version"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _summary(row: Row) -> Summary:
    return Summary(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]), int(row[6]))


class ConversationRepository:
    def __init__(self, database: Database, limits: Limits) -> None:
        self.database = database
        self.limits = limits

    async def list(
        self, owner: str, *, before: tuple[int, str] | None = None, limit: int = 50, search: str | None = None
    ) -> list[Summary]:
        """Newest first (by last change), those changed before `before` (updated, id)."""
        args: list[object] = [owner]
        where = "c.owner = $1"
        if search is not None:
            words = _WORDS.findall(search)[:MAX_SEARCH_WORDS]
            if not words:
                return []
            # A conversation whose title, or one of whose messages, holds every word.
            if self.database.dialect == "sqlite":
                where += (
                    " AND c.key IN (SELECT rowid FROM title_search WHERE title_search MATCH $2 UNION "
                    "SELECT m.conversation FROM message_search JOIN messages m ON m.id = message_search.rowid "
                    "WHERE message_search MATCH $2)"
                )
                args.append(" ".join(f'"{word}"*' for word in words))  # each word, as a prefix
            else:
                where += (
                    " AND (c.title_search @@ to_tsquery('simple', $2) OR c.key IN "
                    "(SELECT conversation FROM messages WHERE search @@ to_tsquery('simple', $2)))"
                )
                args.append(" & ".join(f"{word}:*" for word in words))
        if before is not None:
            n = len(args)
            where += f" AND (c.updated < ${n + 1} OR (c.updated = ${n + 1} AND c.id < ${n + 2}))"
            args += [before[0], before[1]]
        args.append(limit)
        rows = await self.database.fetch(
            f"SELECT {_SUMMARY} FROM conversations c WHERE {where} "
            f"ORDER BY c.updated DESC, c.id DESC LIMIT ${len(args)}",
            *args,
        )
        return [_summary(row) for row in rows]

    async def get(self, owner: str, conversation_id: str) -> Conversation | None:
        async with self.database.transaction() as transaction:
            found = await _find(transaction, owner, conversation_id)
            if found is None:
                return None
            key, summary = found
            rows = await transaction.fetch(
                "SELECT role, content, status, finish_reason, reasoning, created FROM messages "
                "WHERE conversation = $1 ORDER BY position",
                key,
            )
        messages = tuple(StoredMessage(row[0], row[1], row[2], row[3], row[4], int(row[5])) for row in rows)
        return Conversation(summary, messages)

    async def put(
        self, owner: str, conversation_id: str, draft: ConversationDraft, if_match: str | None
    ) -> tuple[Summary, bool]:
        """Write the whole conversation; whether it was made now. `if_match`: the ETag it must have
        (`*`: it must exist)."""
        now = now_ms()
        async with self.database.transaction() as transaction:
            found = await _find(transaction, owner, conversation_id)
            _check_match(found[1] if found else None, if_match)
            if found is None:
                await self._check_room(transaction, owner)
                created = draft.created if draft.created is not None else now
                key = await _insert(transaction, owner, conversation_id, draft, created, now)
                summary = Summary(conversation_id, draft.title, draft.preset, draft.deployment, created, now, 1)
            else:
                key, old = found
                version = old.version + 1
                await transaction.execute(
                    "UPDATE conversations SET title = $1, preset = $2, deployment = $3, updated = $4, version = $5 "
                    "WHERE key = $6",
                    draft.title, draft.preset, draft.deployment, now, version, key,
                )  # fmt: skip
                await _unindex_messages(transaction, key)
                await transaction.execute("DELETE FROM messages WHERE conversation = $1", key)
                summary = Summary(
                    conversation_id, draft.title, draft.preset, draft.deployment, old.created, now, version
                )
            await _insert_messages(transaction, key, 0, draft.messages, now)
            await _index_title(transaction, key)
        return summary, found is None

    async def rename(self, owner: str, conversation_id: str, title: str, if_match: str | None) -> Summary | None:
        async with self.database.transaction() as transaction:
            found = await _find(transaction, owner, conversation_id)
            if found is None:
                return None
            key, old = found
            _check_match(old, if_match)
            summary = dataclasses.replace(old, title=title, updated=now_ms(), version=old.version + 1)
            await transaction.execute(
                "UPDATE conversations SET title = $1, updated = $2, version = $3 WHERE key = $4",
                title, summary.updated, summary.version, key,
            )  # fmt: skip
            await _index_title(transaction, key)
        return summary

    async def delete(self, owner: str, conversation_id: str, if_match: str | None) -> bool:
        async with self.database.transaction() as transaction:
            found = await _find(transaction, owner, conversation_id)
            if found is None:
                return False
            key, old = found
            _check_match(old, if_match)
            await _unindex_messages(transaction, key)
            await transaction.execute("DELETE FROM messages WHERE conversation = $1", key)
            if transaction.dialect == "sqlite":
                await transaction.execute("DELETE FROM title_search WHERE rowid = $1", key)
            await transaction.execute("DELETE FROM conversations WHERE key = $1", key)
        return True

    async def append(
        self,
        owner: str,
        conversation_id: str,
        adding: Sequence[StoredMessage],
        new: ConversationDraft | None,
    ) -> Summary | None:
        """Messages the server writes itself (a question, then its answer as it ended) at the end of the
        conversation. One it does not hold is made from `new` (the messages the request sent, ending with
        the question), or, without `new`, left unmade (None)."""
        now = now_ms()
        async with self.database.transaction() as transaction:
            found = await _find(transaction, owner, conversation_id)
            if found is None:
                if new is None:
                    return None
                await self._check_room(transaction, owner)
                self._check_size(0, 0, new.messages)
                key = await _insert(transaction, owner, conversation_id, new, now, now)
                summary = Summary(conversation_id, new.title, new.preset, new.deployment, now, now, 1)
                await _insert_messages(transaction, key, 0, new.messages, now)
                await _index_title(transaction, key)
            else:
                key, old = found
                row = await transaction.fetchrow(
                    "SELECT count(*), coalesce(sum(length(content)), 0), coalesce(max(position), -1) "
                    "FROM messages WHERE conversation = $1",
                    key,
                )
                assert row is not None
                self._check_size(int(row[0]), int(row[1]), adding)
                deployment = new.deployment if new is not None and new.deployment else old.deployment
                summary = dataclasses.replace(old, deployment=deployment, updated=now, version=old.version + 1)
                await transaction.execute(
                    "UPDATE conversations SET deployment = $1, updated = $2, version = $3 WHERE key = $4",
                    summary.deployment, now, summary.version, key,
                )  # fmt: skip
                await _insert_messages(transaction, key, int(row[2]) + 1, adding, now)
        return summary

    async def count(self, owner: str) -> int:
        row = await self.database.fetchrow("SELECT count(*) FROM conversations WHERE owner = $1", owner)
        return int(row[0]) if row is not None else 0

    async def _check_room(self, connection: Connection, owner: str) -> None:
        row = await connection.fetchrow("SELECT count(*) FROM conversations WHERE owner = $1", owner)
        if row is not None and int(row[0]) >= self.limits.conversations:
            raise TooManyConversations()

    def _check_size(self, count: int, chars: int, adding: Sequence[StoredMessage]) -> None:
        if count + len(adding) > self.limits.messages:
            raise Full(f"{count + len(adding)} messages, the limit is {self.limits.messages}")
        total = chars + sum(len(message.content) for message in adding)
        if total > self.limits.total_chars:
            raise Full(f"{total} characters, the limit is {self.limits.total_chars}")


async def _find(connection: Connection, owner: str, conversation_id: str) -> tuple[int, Summary] | None:
    lock = " FOR UPDATE" if connection.dialect == "postgresql" else ""  # SQLite's transactions hold the file
    row = await connection.fetchrow(
        f"SELECT c.key, {_SUMMARY} FROM conversations c WHERE c.owner = $1 AND c.id = $2{lock}", owner, conversation_id
    )
    return None if row is None else (int(row[0]), _summary(row[1:]))


def _check_match(current: Summary | None, if_match: str | None) -> None:
    if if_match is None:
        return
    if current is None or (if_match.strip() != "*" and current.etag not in _etags(if_match)):
        raise Changed(current.etag if current else None)


def _etags(header: str) -> list[str]:
    return [part.strip().removeprefix("W/") for part in header.split(",")]


async def _insert(
    connection: Connection, owner: str, conversation_id: str, draft: ConversationDraft, created: int, now: int
) -> int:
    row = await connection.fetchrow(
        "INSERT INTO conversations (owner, id, title, preset, deployment, created, updated, version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 1) RETURNING key",
        owner, conversation_id, draft.title, draft.preset, draft.deployment, created, now,
    )  # fmt: skip
    assert row is not None
    return int(row[0])


async def _insert_messages(
    connection: Connection, key: int, first: int, messages: Sequence[StoredMessage], now: int
) -> None:
    """In one statement (a conversation's 200 messages are 1,600 values, within both databases' limits)."""
    if not messages:
        return
    rows = []
    values: list[object] = []
    for position, message in enumerate(messages, start=first):
        n = len(values)
        rows.append("(" + ", ".join(f"${n + i}" for i in range(1, 9)) + ")")
        values += [
            key, position, message.role, message.content, message.status, message.finish_reason, message.reasoning,
            message.created or now,
        ]  # fmt: skip
    await connection.execute(
        "INSERT INTO messages (conversation, position, role, content, status, finish_reason, reasoning, created) "
        f"VALUES {', '.join(rows)}",
        *values,
    )
    if connection.dialect == "sqlite":  # PostgreSQL's index is a column it computes
        await connection.execute(
            "INSERT INTO message_search (rowid, body) SELECT id, content FROM messages "
            "WHERE conversation = $1 AND position >= $2",
            key, first,
        )  # fmt: skip


async def _index_title(connection: Connection, key: int) -> None:
    """The conversation's title in SQLite's search index, as it is now (PostgreSQL computes its own)."""
    if connection.dialect == "sqlite":
        await connection.execute("DELETE FROM title_search WHERE rowid = $1", key)
        await connection.execute(
            "INSERT INTO title_search (rowid, body) SELECT key, title FROM conversations WHERE key = $1", key
        )


async def _unindex_messages(connection: Connection, key: int) -> None:
    """The conversation's messages out of SQLite's search index, before they are deleted."""
    if connection.dialect == "sqlite":
        await connection.execute(
            "DELETE FROM message_search WHERE rowid IN (SELECT id FROM messages WHERE conversation = $1)", key
        )
