"""Conversations kept on the server, on a real SQLite file (each test its own, under tmp_path): the API,
its ETags and limits, who may use it, the turn the relay keeps as an answer ends, the migrations, and
the start-up lines of a database that cannot be opened."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chat import Settings
from chat.conversations.database import SQLITE_FILE, open_database
from chat.conversations.repository import ConversationRepository, Limits
from chat.conversations.schema import LATEST, migrate, schema_version
from chat.conversations.store import conversations_key
from chat.simulator import Fault, Simulator

from .sse_client import read_events, text_of
from .typedefs import Client, ClientFactory, StartUp

PASSWORD = "s3cret passphrase"
TOKEN = "a-named-token-0123456789"


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


ADA, BOB = basic("ada"), basic("bob")


def conversation(title: str = "Soup", *texts: str) -> dict[str, Any]:
    texts = texts or ("How do I make soup?", "Boil water first.")
    roles = ["user", "assistant"]
    return {"title": title, "messages": [{"role": roles[i % 2], "content": text} for i, text in enumerate(texts)]}


@pytest.fixture
async def signed_in(make_client: ClientFactory) -> Client:
    return await make_client(
        basic_auth=(("ada", PASSWORD), ("bob", PASSWORD)), api_tokens=(f"ci={TOKEN}", "an-unnamed-token-98765")
    )


async def put(
    client: Client, conversation_id: str, body: object, headers: dict[str, str] = ADA
) -> aiohttp.ClientResponse:
    return await client.put(f"/api/conversations/{conversation_id}", json=body, headers=headers)


async def test_a_conversation_written_read_renamed_and_deleted_with_its_etag(signed_in: Client) -> None:
    made = await put(signed_in, "c1", conversation())
    assert made.status == 201
    etag = made.headers["ETag"]
    got = await signed_in.get("/api/conversations/c1", headers=ADA)
    assert got.status == 200 and got.headers["ETag"] == etag
    body = await got.json()
    assert body["title"] == "Soup"
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "How do I make soup?"),
        ("assistant", "Boil water first."),
    ]
    unchanged = await signed_in.get("/api/conversations/c1", headers={**ADA, "If-None-Match": etag})
    assert unchanged.status == 304

    renamed = await signed_in.patch(
        "/api/conversations/c1", json={"title": "Soup, again"}, headers={**ADA, "If-Match": etag}
    )
    assert renamed.status == 200
    new_etag = renamed.headers["ETag"]
    assert new_etag != etag
    # Another tab still holds the first ETag: its write is refused, and told the current one.
    stale = await put(signed_in, "c1", conversation("Mine"), {**ADA, "If-Match": etag})
    assert stale.status == 412
    assert (await stale.json())["error"]["code"] == "conversation_changed"
    assert stale.headers["ETag"] == new_etag
    assert (await (await signed_in.get("/api/conversations/c1", headers=ADA)).json())["title"] == "Soup, again"
    stale_delete = await signed_in.delete("/api/conversations/c1", headers={**ADA, "If-Match": etag})
    assert stale_delete.status == 412

    replaced = await put(signed_in, "c1", conversation("Mine", "a", "b", "c"), {**ADA, "If-Match": new_etag})
    assert replaced.status == 200
    assert len((await (await signed_in.get("/api/conversations/c1", headers=ADA)).json())["messages"]) == 3
    deleted = await signed_in.delete("/api/conversations/c1", headers={**ADA, "If-Match": replaced.headers["ETag"]})
    assert deleted.status == 204
    gone = await signed_in.get("/api/conversations/c1", headers=ADA)
    assert gone.status == 404 and (await gone.json())["error"]["code"] == "conversation_not_found"
    # Made again with the same id, it must not match the ETag of the one deleted.
    again = await put(signed_in, "c1", conversation(), {**ADA, "If-Match": etag})
    assert again.status == 412


async def test_only_the_owner_sees_a_conversation(signed_in: Client) -> None:
    assert (await put(signed_in, "shared-id", conversation("Ada's"))).status == 201
    for method in ("GET", "DELETE"):
        foreign = await signed_in.request(method, "/api/conversations/shared-id", headers=BOB)
        assert foreign.status == 404, method
        assert (await foreign.json())["error"]["code"] == "conversation_not_found"
    renamed = await signed_in.patch("/api/conversations/shared-id", json={"title": "Bob's"}, headers=BOB)
    assert renamed.status == 404
    # Bob's own conversation of the same id is his alone.
    assert (await put(signed_in, "shared-id", conversation("Bob's"), BOB)).status == 201
    assert (await (await signed_in.get("/api/conversations/shared-id", headers=ADA)).json())["title"] == "Ada's"
    listed = await (await signed_in.get("/api/conversations", headers=BOB)).json()
    assert [item["title"] for item in listed["conversations"]] == ["Bob's"]


async def test_the_list_is_newest_first_in_pages_and_searched(signed_in: Client) -> None:
    for number in range(5):
        await put(signed_in, f"c{number}", conversation(f"Talk {number}", f"question {number}", f"answer {number}"))
        await asyncio.sleep(0.002)  # each its own millisecond
    await put(signed_in, "soup", conversation("Kitchen", "How long do lentils cook?", "About twenty minutes."))
    first = await (await signed_in.get("/api/conversations?limit=4", headers=ADA)).json()
    assert [item["id"] for item in first["conversations"]] == ["soup", "c4", "c3", "c2"]
    assert set(first["conversations"][0]) == {"id", "title", "preset", "deployment", "created", "updated", "etag"}
    rest = await (await signed_in.get(f"/api/conversations?limit=4&before={first['next']}", headers=ADA)).json()
    assert [item["id"] for item in rest["conversations"]] == ["c1", "c0"]
    assert rest["next"] is None

    async def found(query: str) -> list[str]:
        response = await signed_in.get("/api/conversations", params={"q": query}, headers=ADA)
        assert response.status == 200
        return [item["id"] for item in (await response.json())["conversations"]]

    assert await found("lentils") == ["soup"]  # message text
    assert await found("kitchen") == ["soup"]  # title, any case
    assert await found("lent") == ["soup"]  # a word's beginning
    assert await found("answer 3") == ["c3"]
    assert await found("nothing-like-this") == []
    assert await found('"); DROP TABLE conversations; --') == []
    assert len(await found("")) == 6  # no words: no search
    # Replaced, renamed and deleted: found by what it holds now, and no longer by what it held.
    await put(signed_in, "c1", conversation("Zoo", "zebras and giraffes", "stripes"))
    assert await found("zebras") == ["c1"]
    await put(signed_in, "c1", conversation("Garden", "apples and pears", "orchards"))
    assert await found("zebras") == [] and await found("zoo") == []
    assert await found("pears") == ["c1"]
    await signed_in.patch("/api/conversations/c1", json={"title": "Orchard"}, headers=ADA)
    assert await found("garden") == [] and await found("orchard") == ["c1"]
    await signed_in.delete("/api/conversations/c1", headers=ADA)
    assert await found("pears") == [] and await found("orchard") == []


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/api/conversations/c1", {"title": "t", "messages": [], "colour": "red"}, "'colour'"),
        ("/api/conversations/c1", {"messages": []}, "`title` is missing"),
        ("/api/conversations/c1", {"title": "t" * 201, "messages": []}, "`title` has 201 characters"),
        ("/api/conversations/c1", {"title": "t", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]`.role"),
        ("/api/conversations/c1", {"title": "t", "messages": [{"role": "user", "content": 3}]}, "messages[0]`.content"),
        ("/api/conversations/c1", {"title": "t", "messages": [], "created": "today"}, "`created`"),
        ("/api/conversations/c1", {"title": "t", "messages": "none"}, "`messages` must be a list"),
        ("/api/conversations/not%20an%20id", {"title": "t", "messages": []}, "`id` must be"),
    ],
    ids=["unknown-field", "no-title", "long-title", "bad-role", "bad-content", "bad-created", "bad-messages", "bad-id"],
)
async def test_a_bad_conversation_is_a_400_naming_the_field(
    signed_in: Client, path: str, body: dict[str, Any], expected: str
) -> None:
    response = await signed_in.put(path, json=body, headers=ADA)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_request"
    assert expected in error["message"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("limit=0", "`limit`"), ("limit=201", "`limit`"), ("before=yesterday", "`before`"), ("page=2", "'page'")],
    ids=["limit-zero", "limit-high", "before-text", "unknown"],
)
async def test_a_bad_list_parameter_is_a_400_naming_it(signed_in: Client, query: str, expected: str) -> None:
    response = await signed_in.get(f"/api/conversations?{query}", headers=ADA)
    assert response.status == 400
    assert expected in (await response.json())["error"]["message"]


async def test_sizes_are_bounded(make_client: ClientFactory) -> None:
    client = await make_client(
        basic_auth=(("ada", PASSWORD),), max_conversations=2, max_messages=3, max_message_chars=10, max_total_chars=15
    )
    assert (await put(client, "a", conversation("a", "x"))).status == 201
    assert (await put(client, "b", conversation("b", "x"))).status == 201
    third = await put(client, "c", conversation("c", "x"))
    assert third.status == 400
    assert (await third.json())["error"]["code"] == "too_many_conversations"
    assert (await put(client, "a", conversation("a", "1", "2", "3", "4"))).status == 400  # messages
    long = await put(client, "a", conversation("a", "x" * 11))
    assert (await long.json())["error"]["code"] == "message_too_long"
    total = await put(client, "a", conversation("a", "x" * 10, "y" * 10))
    assert (await total.json())["error"]["code"] == "conversation_too_long"
    assert (await put(client, "a", conversation("a", "fine"))).status == 200  # a conversation kept may change


async def test_anonymous_clients_and_unnamed_tokens_keep_history_in_the_browser(
    make_client: ClientFactory, signed_in: Client
) -> None:
    anonymous = await make_client()
    response = await anonymous.get("/api/conversations")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "history_in_browser"
    unnamed = await signed_in.get("/api/conversations", headers={"Authorization": "Bearer an-unnamed-token-98765"})
    assert unnamed.status == 403
    named = await signed_in.get("/api/conversations", headers={"Authorization": f"Bearer {TOKEN}"})
    assert named.status == 200


async def test_history_browser_keeps_nothing_on_the_server(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await make_client(basic_auth=(("ada", PASSWORD),), history="browser")
    response = await put(client, "c1", conversation())
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "history_off"
    answered = await client.post("/api/chat", json=ask("Hi", "c1"), headers=ADA)
    await read_events(answered)
    assert not (tmp_path / "data").exists()  # no database opened


def ask(text: str, conversation_id: str, before: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"messages": [*(before or []), {"role": "user", "content": text}], "conversation_id": conversation_id}


async def stored(client: Client, conversation_id: str, messages: int) -> dict[str, Any]:
    """The conversation once it holds `messages` messages (the server writes them after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        await client.app[conversations_key].wait_for_writes()
        response = await client.get(f"/api/conversations/{conversation_id}", headers=ADA)
        if response.status == 200:
            body: dict[str, Any] = await response.json()
            if len(body["messages"]) >= messages or time.monotonic() > deadline:
                return body
        elif time.monotonic() > deadline:
            raise AssertionError(f"no conversation {conversation_id}: {response.status}")
        await asyncio.sleep(0.02)


async def test_the_server_keeps_the_question_and_the_answer_as_it_ended(signed_in: Client) -> None:
    earlier = [{"role": "user", "content": "Earlier question"}, {"role": "assistant", "content": "Earlier answer"}]
    response = await signed_in.post("/api/chat", json=ask("How are you?", "talk-1", earlier), headers=ADA)
    events, _ = await read_events(response)
    body = await stored(signed_in, "talk-1", 4)
    assert body["title"] == "Earlier question"
    assert body["deployment"] == "gpt-test"
    messages = body["messages"]
    assert [(m["role"], m["content"]) for m in messages[:3]] == [
        ("user", "Earlier question"),
        ("assistant", "Earlier answer"),
        ("user", "How are you?"),
    ]
    assert messages[3]["role"] == "assistant"
    assert messages[3]["content"] == text_of(events) != ""
    assert messages[3]["status"] == "completed"
    assert messages[3]["finish_reason"] == "stop"

    # The next turn is appended to the conversation the server holds.
    response = await signed_in.post("/api/chat", json=ask("And then?", "talk-1"), headers=ADA)
    await read_events(response)
    body = await stored(signed_in, "talk-1", 6)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"] * 3
    assert body["messages"][4]["content"] == "And then?"
    # Found by the answer's text.
    found = await (await signed_in.get("/api/conversations", params={"q": "then"}, headers=ADA)).json()
    assert [item["id"] for item in found["conversations"]] == ["talk-1"]


async def test_an_answer_whose_browser_left_is_kept_cut(signed_in: Client, simulator: Simulator) -> None:
    simulator.token_delay = 0.01
    response = await signed_in.post("/api/chat", json=ask("Tell me a long story", "story"), headers=ADA)
    async for line in response.content:
        if line.startswith(b"event: delta"):
            break
    response.close()  # the browser has gone, mid-answer
    body = await stored(signed_in, "story", 2)
    answer = body["messages"][1]
    assert answer["status"] == "cut"
    assert answer["content"] != ""


async def test_anonymous_answers_and_those_without_a_conversation_are_not_kept(signed_in: Client) -> None:
    response = await signed_in.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}]}, headers=ADA)
    await read_events(response)
    await signed_in.app[conversations_key].wait_for_writes()
    listed = await (await signed_in.get("/api/conversations", headers=ADA)).json()
    assert listed["conversations"] == []
    bad = await signed_in.post("/api/chat", json=ask("Hi", "no spaces allowed"), headers=ADA)
    assert bad.status == 400
    assert "`conversation_id`" in (await bad.json())["error"]["message"]


def sqlite_settings(directory: Path) -> Settings:
    return Settings(data_dir=str(directory))


async def check_upgrade(settings: Settings) -> None:
    """A database made with the first schema and written as its server wrote it, upgraded: nothing lost,
    and what the first schema's server wrote is found by the search a later migration added."""
    database = await open_database(settings)
    try:
        assert await migrate(database, upto=1) == [1]
        await database.execute(
            "INSERT INTO conversations (owner, id, title, created, updated, version) "
            "VALUES ('user:ada', 'old', 'Gardening', 1, 2, 3)"
        )
        for position, (role, text) in enumerate([("user", "When to plant tulips?"), ("assistant", "In autumn.")]):
            await database.execute(
                "INSERT INTO messages (conversation, position, role, content, created) VALUES (1, $1, $2, $3, 5)",
                position, role, text,
            )  # fmt: skip
        assert await migrate(database) == list(range(2, LATEST + 1))
        assert await schema_version(database) == LATEST
        assert await migrate(database) == []  # once only
    finally:
        await database.close()
    database = await open_database(settings)  # as the next start opens it
    try:
        repository = ConversationRepository(database, Limits(10, 10, 1000))
        kept = await repository.get("user:ada", "old")
        assert kept is not None
        assert (kept.summary.title, kept.summary.created, kept.summary.updated) == ("Gardening", 1, 2)
        assert [m.content for m in kept.messages] == ["When to plant tulips?", "In autumn."]
        assert [s.id for s in await repository.list("user:ada", search="tulips")] == ["old"]
        assert [s.id for s in await repository.list("user:ada", search="gardening")] == ["old"]
    finally:
        await database.close()


async def test_a_database_of_the_first_schema_is_upgraded_and_loses_nothing(tmp_path: Path) -> None:
    await check_upgrade(sqlite_settings(tmp_path))


SIGNED_IN = {"CHAT_BASIC_AUTH": "ada:correct-horse-battery"}


def test_start_up_makes_the_data_dir_and_migrate_runs_alone(start_up: StartUp, tmp_path: Path) -> None:
    code, out, err = start_up("migrate", CHAT_DATA_DIR=str(tmp_path / "kept"), **SIGNED_IN)
    assert code == 0, err
    assert "migrations run: 1, 2, 3" in out
    assert (tmp_path / "kept" / SQLITE_FILE).is_file()
    code, out, _ = start_up("migrate", CHAT_DATA_DIR=str(tmp_path / "kept"), **SIGNED_IN)
    assert "none, the schema is current" in out


def test_a_corrupt_database_stops_start_up_with_one_line(start_up: StartUp, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / SQLITE_FILE).write_bytes(b"this is not a database, it is a grocery list\n" * 200)
    code, _, err = start_up(**SIGNED_IN)
    assert code == 2
    assert (
        err.strip().splitlines()[-1] == f"error: CHAT_DATA_DIR: cannot open data/{SQLITE_FILE}: file is not a database"
    )
    assert "Traceback" not in err


@pytest.mark.timeout(30)
def test_a_locked_database_stops_start_up_with_one_line(start_up: StartUp, tmp_path: Path) -> None:
    assert start_up("migrate", **SIGNED_IN)[0] == 0
    holder = sqlite3.connect(tmp_path / "data" / SQLITE_FILE)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")  # held by another process, as it were
        code, _, err = start_up(**SIGNED_IN)
    finally:
        holder.close()
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: CHAT_DATA_DIR: cannot open data/{SQLITE_FILE}: database is locked"), line
    assert "Traceback" not in err


def test_a_database_url_that_cannot_be_reached_stops_start_up_without_its_password(start_up: StartUp) -> None:
    code, _, err = start_up(CHAT_DATABASE_URL="postgresql://ada:pa55word-secret@127.0.0.1:1/chat", **SIGNED_IN)
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: CHAT_DATABASE_URL: cannot connect to postgresql://ada@127.0.0.1:1/chat: "), line
    assert "pa55word" not in err


def test_a_database_url_that_is_not_postgresql_is_a_settings_error(start_up: StartUp) -> None:
    code, _, err = start_up(CHAT_DATABASE_URL="mysql://ada:pa55word-secret@db/chat")
    assert code == 2
    assert "CHAT_DATABASE_URL" in err and "pa55word" not in err


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_another_sites_page_cannot_write_a_conversation(signed_in: Client, method: str) -> None:
    assert (await put(signed_in, "c1", conversation())).status == 201
    response = await signed_in.request(
        method, "/api/conversations/c1", json=conversation(), headers={**ADA, "Origin": "https://evil.example"}
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden_origin"


async def test_a_resumable_answer_is_kept_as_it_ended_completed_or_stopped(
    signed_in: Client, simulator: Simulator
) -> None:
    response = await signed_in.post("/api/chat", json={**ask("Hello", "resumed"), "resumable": True}, headers=ADA)
    body = (await response.read()).decode()
    streamed = "".join(
        json.loads(line[6:])["content"] for block in body.split("\n\n") if "event: delta" in block
        for line in block.split("\n") if line.startswith("data: ")
    )  # fmt: skip
    kept = await stored(signed_in, "resumed", 2)
    assert [(m["role"], m.get("status")) for m in kept["messages"]] == [("user", None), ("assistant", "completed")]
    assert kept["messages"][1]["content"] == streamed != ""

    simulator.fail_next(Fault.STALL, after_chunks=2)
    response = await signed_in.post("/api/chat", json={**ask("Again", "resumed"), "resumable": True}, headers=ADA)
    async for line in response.content:
        if line.startswith(b"data: ") and b'"id"' in line:
            answer_id = json.loads(line[6:])["id"]
        if line.startswith(b"event: delta"):
            break
    stop = await signed_in.post(f"/api/answers/{answer_id}/stop", headers=ADA)
    assert stop.status == 204
    response.close()
    kept = await stored(signed_in, "resumed", 4)
    assert kept["messages"][2]["content"] == "Again"
    assert kept["messages"][3]["status"] == "stopped"
    assert kept["messages"][3]["content"] != ""


async def test_a_database_gone_mid_run_is_a_503_and_chat_goes_on(
    signed_in: Client, caplog: pytest.LogCaptureFixture
) -> None:
    repository = signed_in.app[conversations_key].repository
    assert repository is not None
    await repository.database.close()  # the connection lost under the server
    listed = await signed_in.get("/api/conversations", headers=ADA)
    assert listed.status == 503
    assert (await listed.json())["error"]["code"] == "history_unavailable"
    response = await signed_in.post("/api/chat", json=ask("Still there?", "lost"), headers=ADA)
    events, _ = await read_events(response)
    assert events[-1].name == "done"
    await signed_in.app[conversations_key].wait_for_writes()
    assert "conversation_not_kept" in caplog.text
