"""Share links on a real PostgreSQL (tests/conftest.py: postgres_session): the same checks and attacks
as on SQLite (tests/test_sharing.py), each on a database of its own."""

from __future__ import annotations

import pytest

from . import test_sharing as on_sqlite
from .typedefs import Client, ClientFactory

pytestmark = pytest.mark.slow  # starts a PostgreSQL server


@pytest.fixture
async def signed_in(make_client: ClientFactory, database_url: str) -> Client:
    return await make_client(**on_sqlite.SIGN_IN, database_url=database_url)


async def test_a_link_shows_the_conversation_as_it_was_to_another_person(signed_in: Client) -> None:
    await on_sqlite.test_a_link_shows_the_conversation_as_it_was_to_another_person(signed_in)


async def test_another_persons_conversation_cannot_be_shared_nor_their_link_revoked(signed_in: Client) -> None:
    await on_sqlite.test_another_persons_conversation_cannot_be_shared_nor_their_link_revoked(signed_in)


async def test_a_revoked_link_is_gone(signed_in: Client) -> None:
    await on_sqlite.test_a_revoked_link_is_gone(signed_in)


async def test_an_expired_link_is_gone(signed_in: Client) -> None:
    await on_sqlite.test_an_expired_link_is_gone(signed_in)


async def test_a_guessed_or_malformed_token_is_gone(signed_in: Client) -> None:
    await on_sqlite.test_a_guessed_or_malformed_token_is_gone(signed_in)


async def test_team_links_ask_anonymous_readers_to_sign_in(signed_in: Client) -> None:
    await on_sqlite.test_team_links_ask_anonymous_readers_to_sign_in(signed_in)


async def test_a_deleted_conversation_takes_its_links(signed_in: Client) -> None:
    await on_sqlite.test_a_deleted_conversation_takes_its_links(signed_in)


async def test_conversation_text_cannot_leave_the_snapshot(signed_in: Client) -> None:
    await on_sqlite.test_conversation_text_cannot_leave_the_snapshot(signed_in)


async def test_a_persons_links_are_bounded(signed_in: Client) -> None:
    await on_sqlite.test_a_persons_links_are_bounded(signed_in)
