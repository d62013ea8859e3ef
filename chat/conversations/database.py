"""The link to the database, for either kind: SQLite (aiosqlite, one connection whose calls run in its
own thread) in CHAT_DATA_DIR, or PostgreSQL (an asyncpg pool) at CHAT_DATABASE_URL. Statements are
written once with PostgreSQL's `$1` placeholders (SQLite reads them as `?1`); a database that cannot
be opened is a `DatabaseUnavailable` whose message names the setting and never the password."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

from chat.config.settings import Settings

Dialect = Literal["sqlite", "postgresql"]
SQLITE_FILE = "conversations.sqlite3"
# A writer waits this long for another's lock (another process on the same file) before failing.
SQLITE_BUSY_MS = 5000
POSTGRES_POOL = (1, 10)  # connections, fewest and most
CONNECT_TIMEOUT = 10.0
_PLACEHOLDER = re.compile(r"\$(\d+)")

Row = Sequence[Any]


class DatabaseUnavailable(Exception):
    """The database cannot be opened or used; the message is one line that names the setting."""


class Connection(Protocol):
    """What the repository asks of a database or of one transaction on it."""

    dialect: Dialect

    async def fetch(self, sql: str, *args: object) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None: ...

    async def execute(self, sql: str, *args: object) -> None: ...

    async def script(self, sql: str) -> None: ...


class Database(Connection, Protocol):
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    async def close(self) -> None: ...


class SqliteDatabase:
    """One connection; its statements run one at a time in aiosqlite's thread, so a transaction holds
    the lock for all of its statements."""

    dialect: Dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self.path = path

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        async with self._lock:
            return await self._fetch(sql, args)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def execute(self, sql: str, *args: object) -> None:
        async with self._lock:
            await self._connection.execute(_sqlite(sql), args)

    async def script(self, sql: str) -> None:
        async with self._lock:
            await self._connection.executescript(sql)

    async def _fetch(self, sql: str, args: tuple[object, ...]) -> list[Row]:
        async with self._connection.execute(_sqlite(sql), args) as cursor:
            return list(await cursor.fetchall())

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(self)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def close(self) -> None:
        await self._connection.close()


class _SqliteTransaction:
    dialect: Dialect = "sqlite"

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return await self._database._fetch(sql, args)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def execute(self, sql: str, *args: object) -> None:
        await self._database._connection.execute(_sqlite(sql), args)

    async def script(self, sql: str) -> None:
        # executescript would COMMIT first: the statements one by one, inside the transaction.
        for statement in split_statements(sql):
            await self._database._connection.execute(statement)


class _PostgresCalls:
    """The statements, on the pool (each on a connection of its own) or on one transaction's connection:
    asyncpg's pool and connections take the same calls."""

    dialect: Dialect = "postgresql"

    def __init__(self, target: asyncpg.Pool | asyncpg.Connection) -> None:
        self._target = target

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return list(await self._target.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self._target.fetchrow(sql, *args)
        return row

    async def execute(self, sql: str, *args: object) -> None:
        await self._target.execute(sql, *args)

    async def script(self, sql: str) -> None:
        await self._target.execute(sql)


class PostgresDatabase(_PostgresCalls):
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._target.acquire() as connection, connection.transaction():
            yield _PostgresCalls(connection)

    async def close(self) -> None:
        await self._target.close()


def _sqlite(sql: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", sql)


def split_statements(sql: str) -> list[str]:
    """A migration's statements (they hold no `;` but at their ends)."""
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


async def open_database(settings: Settings) -> Database:
    """The database the settings name, opened and checked; DatabaseUnavailable says why not."""
    if settings.database_url is not None:
        return await _open_postgres(settings.database_url)
    return await _open_sqlite(Path(settings.data_dir))


async def _open_sqlite(directory: Path) -> SqliteDatabase:
    path = directory / SQLITE_FILE
    try:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseUnavailable(f"CHAT_DATA_DIR: cannot create {directory}: {error.strerror}") from None
    connection = None
    try:
        connection = await aiosqlite.connect(path, isolation_level=None, timeout=SQLITE_BUSY_MS / 1000)
        await connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        # WAL: readers never wait for the writer; NORMAL: a commit is durable once the WAL is synced
        # at a checkpoint, and never corrupts (the WAL's documented trade).
        async with connection.execute("PRAGMA journal_mode = WAL") as cursor:
            await cursor.fetchall()
        await connection.execute("PRAGMA synchronous = NORMAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        async with connection.execute("PRAGMA quick_check") as cursor:
            verdict = [tuple(row) for row in await cursor.fetchall()]
        if verdict != [("ok",)]:
            raise sqlite3.DatabaseError(f"integrity check failed: {str(verdict[0][0])[:120]}")
    except (sqlite3.Error, OSError) as error:
        if connection is not None:
            await connection.close()
        raise DatabaseUnavailable(f"CHAT_DATA_DIR: cannot open {path}: {_sqlite_reason(error)}") from None
    return SqliteDatabase(connection, path)


def _sqlite_reason(error: BaseException) -> str:
    reason = str(error) or type(error).__name__
    if "locked" in reason or "busy" in reason:
        return f"{reason} (another process holds it; one file serves one machine's processes)"
    return reason


async def _open_postgres(url: str) -> PostgresDatabase:
    shown = without_password(url)
    try:
        pool = await asyncpg.create_pool(
            url, min_size=POSTGRES_POOL[0], max_size=POSTGRES_POOL[1], timeout=CONNECT_TIMEOUT
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise DatabaseUnavailable(f"CHAT_DATABASE_URL: cannot connect to {shown}: {_postgres_reason(error)}") from None
    return PostgresDatabase(pool)


def _postgres_reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer in {CONNECT_TIMEOUT:g} s"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def without_password(url: str) -> str:
    """The URL as a log line or an error may show it: no password, no query (which may hold one)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
