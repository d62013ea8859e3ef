"""The schema as numbered migrations, each in both dialects, run in order at start (and by
`chat-server migrate`): `schema_version` holds the number of the last one run. A migration is never
edited once released; a change is a new one. Each runs in its own transaction with the version it
sets, so a start-up that dies half-way leaves the database as it was before that migration."""

from __future__ import annotations

import dataclasses
import logging

from chat.conversations.database import Connection, Database, DatabaseUnavailable

log = logging.getLogger("chat.conversations")


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    sqlite: str
    postgresql: str


# A message's columns, as each schema has them (migration 3 numbers the rows of SQLite's table).
_MESSAGE_COLUMNS = """    conversation BIGINT NOT NULL REFERENCES conversations (key) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT,
    finish_reason TEXT,
    reasoning TEXT,
    created BIGINT NOT NULL,"""

# Times are milliseconds since 1970 (UTC). `key` is the row's own number (the search index's rowid in
# SQLite); `id` is the page's, unique per owner: two clients may use the same id, and neither sees the
# other's.
_CONVERSATIONS = """
CREATE TABLE conversations (
    key {key},
    owner TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    preset TEXT,
    deployment TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    version BIGINT NOT NULL,
    UNIQUE (owner, id)
);
CREATE INDEX conversations_by_update ON conversations (owner, updated DESC, id DESC);
CREATE TABLE messages (
{messages}
    PRIMARY KEY (conversation, position)
);
"""

# A share link's snapshot of its conversation as it was when shared (`messages`: JSON, as the API
# shows them): later turns stay out of it. It goes with its conversation.
_SHARES = """
CREATE TABLE shares (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    conversation BIGINT NOT NULL REFERENCES conversations (key) ON DELETE CASCADE,
    title TEXT NOT NULL,
    messages TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT
);
CREATE INDEX shares_by_owner ON shares (owner, created DESC);
CREATE INDEX shares_by_conversation ON shares (conversation);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "conversations and their messages",
        _CONVERSATIONS.format(key="INTEGER PRIMARY KEY", messages=_MESSAGE_COLUMNS),
        _CONVERSATIONS.format(key="BIGSERIAL PRIMARY KEY", messages=_MESSAGE_COLUMNS),
    ),
    Migration(
        2,
        "search of titles and message text",
        # One row per conversation (its title and every message's text), rowid = conversations.key;
        # the repository writes it with the conversation.
        """
        CREATE VIRTUAL TABLE conversation_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');
        INSERT INTO conversation_search (rowid, body)
            SELECT key, title || ' ' || coalesce(
                (SELECT group_concat(content, ' ') FROM (
                    SELECT content FROM messages WHERE conversation = key ORDER BY position)), '')
            FROM conversations;
        """,
        """
        ALTER TABLE conversations ADD COLUMN search_body TEXT NOT NULL DEFAULT '';
        UPDATE conversations SET search_body = title || ' ' || coalesce(
            (SELECT string_agg(content, ' ' ORDER BY position) FROM messages WHERE conversation = key), '');
        ALTER TABLE conversations ADD COLUMN search tsvector
            GENERATED ALWAYS AS (to_tsvector('simple', search_body)) STORED;
        CREATE INDEX conversations_search ON conversations USING GIN (search);
        """,
    ),
    Migration(
        3,
        "search indexed per message and per title",
        # A turn adds its messages to the index instead of writing the conversation's whole text again
        # (the cost of a turn grew with its conversation). Messages get a number of their own, the index's
        # rowid: SQLite's implicit rowid may change in a VACUUM.
        f"""
        DROP TABLE conversation_search;
        CREATE TABLE messages_numbered (
            id INTEGER PRIMARY KEY,
        {_MESSAGE_COLUMNS}
            UNIQUE (conversation, position)
        );
        INSERT INTO messages_numbered (conversation, position, role, content, status, finish_reason, reasoning, created)
            SELECT conversation, position, role, content, status, finish_reason, reasoning, created
            FROM messages ORDER BY conversation, position;
        DROP TABLE messages;
        ALTER TABLE messages_numbered RENAME TO messages;
        CREATE VIRTUAL TABLE message_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');
        INSERT INTO message_search (rowid, body) SELECT id, content FROM messages;
        CREATE VIRTUAL TABLE title_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');
        INSERT INTO title_search (rowid, body) SELECT key, title FROM conversations;
        """,
        """
        DROP INDEX conversations_search;
        ALTER TABLE conversations DROP COLUMN search;
        ALTER TABLE conversations DROP COLUMN search_body;
        ALTER TABLE conversations ADD COLUMN title_search tsvector
            GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED;
        CREATE INDEX conversations_title_search ON conversations USING GIN (title_search);
        ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED;
        CREATE INDEX messages_search ON messages USING GIN (search);
        """,
    ),
    Migration(4, "share links", _SHARES, _SHARES),
)
LATEST = MIGRATIONS[-1].number


async def migrate(database: Database, upto: int = LATEST) -> list[int]:
    """Run the migrations not yet run (up to `upto`: tests make a database of an older schema);
    the numbers of those run. DatabaseUnavailable if one fails, naming it."""
    await database.script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    done: list[int] = []
    for migration in MIGRATIONS:
        if migration.number > upto:
            break
        async with database.transaction() as transaction:
            # Read inside the transaction: two processes starting together run each migration once.
            if migration.number <= await _version(transaction):
                continue
            try:
                await transaction.script(getattr(migration, database.dialect))
            except Exception as error:
                raise DatabaseUnavailable(
                    f"migration {migration.number} ({migration.name}) failed: {str(error)[:200]}"
                ) from None
            await transaction.execute("DELETE FROM schema_version")
            await transaction.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.number)
        log.info("database migrated to schema %d: %s", migration.number, migration.name)
        done.append(migration.number)
    return done


async def _version(connection: Connection) -> int:
    if connection.dialect == "postgresql":
        # One process at a time past this point: a lock held to the end of the transaction.
        await connection.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
    row = await connection.fetchrow("SELECT max(version) FROM schema_version")
    return int(row[0]) if row is not None and row[0] is not None else 0


async def schema_version(database: Database) -> int:
    async with database.transaction() as transaction:
        return await _version(transaction)
