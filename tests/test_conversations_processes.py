"""Two server processes on one real PostgreSQL, as on two machines: both start at once on an empty
database (each migration runs once), and a conversation written through one is read, listed,
searched, 412-guarded and shared through the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from chat.conversations.schema import LATEST
from chat.run.children import free_port

from .processes import start_logged_server
from .test_conversations import PASSWORD, basic, conversation

pytestmark = pytest.mark.slow  # servers as their own processes, and a PostgreSQL server

ADA = basic("ada")


@pytest.fixture
async def two_servers(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[str, str]]:
    ports = [free_port(), free_port()]
    env = {"CHAT_BASIC_AUTH": f"ada:{PASSWORD},bob:{PASSWORD}", "CHAT_DATABASE_URL": database_url}
    logs = [tmp_path / f"server-{n}.log" for n in range(2)]
    started = await asyncio.gather(
        *(start_logged_server(port, log, **env) for port, log in zip(ports, logs, strict=True)), return_exceptions=True
    )
    processes = [process for process in started if isinstance(process, asyncio.subprocess.Process)]
    try:
        if failed := [error for error in started if isinstance(error, BaseException)]:
            raise failed[0]
        yield (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
    finally:
        for process in processes:  # also when the other failed to start
            if process.returncode is None:
                process.terminate()
            await process.wait()
    # Started together on an empty database: each migration ran once, in one process or the other.
    migrated = [line for log in logs for line in log.read_text().splitlines() if "database migrated to schema" in line]
    assert len(migrated) == LATEST, migrated


async def test_what_one_process_writes_the_other_reads_lists_searches_and_guards(
    two_servers: tuple[str, str],
) -> None:
    one, other = two_servers
    async with aiohttp.ClientSession(headers=ADA, timeout=aiohttp.ClientTimeout(total=30)) as session:
        made = await session.put(
            f"{one}/api/conversations/c1", json=conversation("Lentil soup", "How long?", "Twenty minutes.")
        )
        assert made.status == 201
        etag = made.headers["ETag"]

        read = await session.get(f"{other}/api/conversations/c1")
        assert read.status == 200 and read.headers["ETag"] == etag
        assert [m["content"] for m in (await read.json())["messages"]] == ["How long?", "Twenty minutes."]
        listed = await (await session.get(f"{other}/api/conversations")).json()
        assert [(item["id"], item["etag"]) for item in listed["conversations"]] == [("c1", etag)]
        found = await (await session.get(f"{other}/api/conversations", params={"q": "twenty"})).json()
        assert [item["id"] for item in found["conversations"]] == ["c1"]

        # The other process renames it; a write through the first with the old ETag is refused.
        renamed = await session.patch(
            f"{other}/api/conversations/c1", json={"title": "Soup"}, headers={"If-Match": etag}
        )
        assert renamed.status == 200
        stale = await session.put(
            f"{one}/api/conversations/c1", json=conversation("Mine", "x"), headers={"If-Match": etag}
        )
        assert stale.status == 412 and stale.headers["ETag"] == renamed.headers["ETag"]
        unchanged = await session.get(f"{one}/api/conversations/c1", headers={"If-None-Match": renamed.headers["ETag"]})
        assert unchanged.status == 304
        assert (await (await session.get(f"{one}/api/conversations/c1")).json())["title"] == "Soup"

        # A link made through one opens through the other, and a revoke through either ends it.
        shared = await (await session.post(f"{one}/api/conversations/c1/share")).json()
        assert (await session.get(f"{other}{shared['url']}", headers=basic("bob"))).status == 200
        assert (await session.delete(f"{other}/api/shares/{shared['token']}")).status == 204
        assert (await session.get(f"{one}{shared['url']}", headers=basic("bob"))).status == 404

        deleted = await session.delete(f"{other}/api/conversations/c1")
        assert deleted.status == 204
        assert (await session.get(f"{one}/api/conversations/c1")).status == 404
