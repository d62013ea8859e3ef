"""Each client's share links, in the conversations' database (migration 4): made from a conversation
as it is at that moment (later turns stay out of the snapshot), listed, revoked, and opened by their
token alone until they expire. A link goes with its conversation."""

from __future__ import annotations

import dataclasses
import re
import secrets

import orjson

from chat.conversations.database import Database, Row
from chat.conversations.repository import StoredMessage, now_ms

TOKEN_BYTES = 16  # 128 random bits: a link cannot be guessed
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # those bytes in URL-safe base64, unpadded
MAX_SHARES = 1000  # a client's links; beyond, 400 too_many_shares
SHARED_ROLES = ("user", "assistant")  # a conversation's own system messages stay out of its snapshot


def url_of(token: str) -> str:
    return f"/s/{token}"


@dataclasses.dataclass(frozen=True, slots=True)
class ShareLink:
    token: str
    conversation_id: str
    title: str
    created: int
    expires: int | None  # milliseconds since 1970; None: never

    def expired(self, now: int) -> bool:
        return self.expires is not None and self.expires <= now

    def as_json(self, now: int) -> dict[str, object]:
        return {
            "token": self.token,
            "url": url_of(self.token),
            "conversation_id": self.conversation_id,
            "title": self.title,
            "created": self.created,
            "expires": self.expires,
            "expired": self.expired(now),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """What a link shows: the conversation's title and messages as they were when it was shared."""

    link: ShareLink
    messages: tuple[dict[str, object], ...]

    def as_json(self) -> dict[str, object]:
        return {"title": self.link.title, "shared": self.link.created, "messages": list(self.messages)}


class TooManyShares(Exception):
    pass


_LINK = "s.token, c.id, s.title, s.created, s.expires"


def _link(row: Row) -> ShareLink:
    return ShareLink(row[0], row[1], row[2], int(row[3]), None if row[4] is None else int(row[4]))


class ShareLinks:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def share(self, owner: str, conversation_id: str, expires: int | None) -> ShareLink | None:
        """A new link to the owner's conversation as it is now; None when the owner has no such one."""
        now = now_ms()
        async with self.database.transaction() as transaction:
            row = await transaction.fetchrow(
                "SELECT key, title FROM conversations WHERE owner = $1 AND id = $2", owner, conversation_id
            )
            if row is None:
                return None
            key, title = int(row[0]), str(row[1])
            counted = await transaction.fetchrow("SELECT count(*) FROM shares WHERE owner = $1", owner)
            if counted is not None and int(counted[0]) >= MAX_SHARES:
                raise TooManyShares()
            rows = await transaction.fetch(
                "SELECT role, content, status, finish_reason, reasoning, created FROM messages "
                "WHERE conversation = $1 ORDER BY position",
                key,
            )
            messages = [
                StoredMessage(row[0], row[1], row[2], row[3], row[4], int(row[5])).as_json()
                for row in rows
                if row[0] in SHARED_ROLES
            ]
            token = secrets.token_urlsafe(TOKEN_BYTES)
            await transaction.execute(
                "INSERT INTO shares (token, owner, conversation, title, messages, created, expires) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                token, owner, key, title, orjson.dumps(messages).decode(), now, expires,
            )  # fmt: skip
        return ShareLink(token, conversation_id, title, now, expires)

    async def list(self, owner: str) -> list[ShareLink]:
        """The owner's links, newest first (expired ones too: the owner may still revoke them)."""
        rows = await self.database.fetch(
            f"SELECT {_LINK} FROM shares s JOIN conversations c ON c.key = s.conversation "
            "WHERE s.owner = $1 ORDER BY s.created DESC, s.token",
            owner,
        )
        return [_link(row) for row in rows]

    async def revoke(self, owner: str, token: str) -> bool:
        async with self.database.transaction() as transaction:
            row = await transaction.fetchrow("SELECT 1 FROM shares WHERE token = $1 AND owner = $2", token, owner)
            if row is None:
                return False
            await transaction.execute("DELETE FROM shares WHERE token = $1", token)
        return True

    async def open(self, token: str) -> Snapshot | None:
        """The snapshot a token shows; None for one unknown, revoked or expired."""
        row = await self.database.fetchrow(
            f"SELECT {_LINK}, s.messages FROM shares s JOIN conversations c ON c.key = s.conversation "
            "WHERE s.token = $1",
            token,
        )
        if row is None:
            return None
        link = _link(row)
        if link.expired(now_ms()):
            return None
        return Snapshot(link, tuple(orjson.loads(row[5])))
