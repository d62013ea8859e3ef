"""The conversation store on a real PostgreSQL (tests/postgres_server.py): the API, the turn the relay
keeps, the upgrade of a database of the first schema, and a wrong password's start-up line. The
same checks as on SQLite (tests/test_conversations.py), each on a database of its own."""

from __future__ import annotations

import pytest

from chat import Settings

from . import test_conversations as on_sqlite
from .postgres_server import PostgresServer
from .typedefs import Client, ClientFactory, StartUp

pytestmark = pytest.mark.slow  # starts a PostgreSQL server (tests/conftest.py: postgres_session)


@pytest.fixture
async def signed_in(make_client: ClientFactory, database_url: str) -> Client:
    return await make_client(
        basic_auth=(("ada", on_sqlite.PASSWORD), ("bob", on_sqlite.PASSWORD)),
        api_tokens=(f"ci={on_sqlite.TOKEN}", "an-unnamed-token-98765"),
        database_url=database_url,
    )


async def test_a_conversation_written_read_renamed_and_deleted_with_its_etag(signed_in: Client) -> None:
    await on_sqlite.test_a_conversation_written_read_renamed_and_deleted_with_its_etag(signed_in)


async def test_only_the_owner_sees_a_conversation(signed_in: Client) -> None:
    await on_sqlite.test_only_the_owner_sees_a_conversation(signed_in)


async def test_the_list_is_newest_first_in_pages_and_searched(signed_in: Client) -> None:
    await on_sqlite.test_the_list_is_newest_first_in_pages_and_searched(signed_in)


async def test_the_server_keeps_the_question_and_the_answer_as_it_ended(signed_in: Client) -> None:
    await on_sqlite.test_the_server_keeps_the_question_and_the_answer_as_it_ended(signed_in)


async def test_sizes_are_bounded(make_client: ClientFactory, database_url: str) -> None:
    client = await make_client(
        basic_auth=(("ada", on_sqlite.PASSWORD),), database_url=database_url, max_conversations=2
    )
    assert (await on_sqlite.put(client, "a", on_sqlite.conversation("a", "x"))).status == 201
    assert (await on_sqlite.put(client, "b", on_sqlite.conversation("b", "x"))).status == 201
    third = await on_sqlite.put(client, "c", on_sqlite.conversation("c", "x"))
    assert (await third.json())["error"]["code"] == "too_many_conversations"


async def test_a_database_of_the_first_schema_is_upgraded_and_loses_nothing(database_url: str) -> None:
    await on_sqlite.check_upgrade(Settings(database_url=database_url))


def test_a_wrong_password_stops_start_up_with_one_line(start_up: StartUp, postgres_session: PostgresServer) -> None:
    url = postgres_session.url(password="not-the-password")
    code, _, err = start_up(CHAT_DATABASE_URL=url, **on_sqlite.SIGNED_IN)
    assert code == 2
    line = err.strip().splitlines()[-1]
    shown = f"postgresql://chat@127.0.0.1:{postgres_session.port}/postgres"
    assert line.startswith(f"error: CHAT_DATABASE_URL: cannot connect to {shown}: password authentication failed"), line
    assert "not-the-password" not in err and postgres_session.password not in err
    assert "Traceback" not in err
