"""Attacks on the counts kept per client: locking a named user out by failing on purpose from
elsewhere, filling the in-process tables until newcomers go uncounted, and changing the low bits of
an IPv6 address to become a new client. Each through HTTP, behind a trusted proxy whose
`X-Forwarded-For` names the attacker's many addresses."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from chat import Settings, create_app
from chat.access.sign_in_throttle import USER_CEILING, SignInThrottle
from chat.access.state import access_state_key
from chat.accounting.outcome import observers_key
from chat.accounting.quota import DailyQuota, quota_key
from chat.simulator import Simulator
from chat.state.open_streams import open_streams_key

from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory

PASSWORD = "correct horse battery"
LOCKED: dict[str, Any] = {"basic_auth": (("ada", PASSWORD), ("bob", PASSWORD)), "trusted_proxies": ("127.0.0.1",)}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _sign_in(client: Client, address: str, user: str = "ada", password: str = PASSWORD) -> int:
    response = await client.get("/", headers={**_basic(user, password), "X-Forwarded-For": address})
    await response.read()
    return response.status


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.slow)])
def shared(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings for counts kept in this process, or shared through a real redis-server."""
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_server").url}


# Locking a named user out.


async def test_failures_for_a_user_from_other_addresses_never_lock_her_out(
    make_client: ClientFactory, shared: dict[str, Any]
) -> None:
    client = await make_client(**LOCKED, **shared)
    statuses = [await _sign_in(client, f"198.51.100.{n}", password="wrong password") for n in range(10)]
    assert statuses == [401] * 10  # ten addresses, one guess each
    assert await _sign_in(client, "198.51.101.1") == 200  # the right password from a fresh address
    # Any number of failures by others: past the ceiling for her name, too.
    for n in range(USER_CEILING + 10):
        assert await _sign_in(client, f"203.0.{n // 250}.{n % 250}", password="wrong password") == 401
    assert await _sign_in(client, "198.51.101.2") == 200
    # Past the ceiling, a network that has failed for her waits, whatever it sends next.
    assert await _sign_in(client, "198.51.101.3", password="wrong password") == 401
    assert await _sign_in(client, "198.51.101.3") == 429
    assert await _sign_in(client, "198.51.101.4", user="bob") == 200  # and only for her name


async def test_guessing_one_user_from_one_address_is_still_slowed(
    make_client: ClientFactory, shared: dict[str, Any]
) -> None:
    client = await make_client(**LOCKED, **shared)
    statuses = [await _sign_in(client, "198.51.100.9", password=f"guess {n}") for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    assert await _sign_in(client, "198.51.100.9") == 429  # even the right password waits
    # Spraying many names from one address is slowed too.
    sprayed = [await _sign_in(client, "198.51.100.10", user=f"user{n}", password="guess") for n in range(22)]
    assert sprayed == [401] * 20 + [429] * 2


async def test_an_address_where_the_user_signed_in_keeps_signing_in(
    make_client: ClientFactory, shared: dict[str, Any]
) -> None:
    client = await make_client(**LOCKED, **shared)
    assert await _sign_in(client, "198.51.100.50") == 200  # her usual address
    for n in range(USER_CEILING):  # the ceiling for her name is reached from elsewhere
        await _sign_in(client, f"203.0.113.{n}", password="wrong password")
    for n in range(25):  # and someone behind her address guesses other names until it is slowed
        await _sign_in(client, "198.51.100.50", user=f"user{n}", password="guess")
    assert await _sign_in(client, "198.51.100.50", user="user99", password="guess") == 429
    assert await _sign_in(client, "198.51.100.50", password="a typo") == 401
    assert await _sign_in(client, "198.51.100.50") == 200
    # An address she never signed in from has no such standing.
    assert await _sign_in(client, "198.51.100.51", password="a typo") == 401
    assert await _sign_in(client, "198.51.100.51") == 429


# Full tables.


async def test_a_full_sign_in_table_still_throttles_newcomers(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    app = create_app(dataclasses.replace(settings, **LOCKED))
    app[access_state_key].throttle = SignInThrottle(max_tracked=60)  # as 100,000 would, in 60 keys
    client = await aiohttp_client(app)
    for n in range(100):  # 300 keys: an address, a name and the pair each
        assert await _sign_in(client, f"203.0.113.{n}", user=f"user{n}", password="guess") == 401
    statuses = [await _sign_in(client, "198.51.100.77", password=f"guess {n}") for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2


async def test_a_full_quota_table_does_not_let_newcomers_spend_freely(
    aiohttp_client: AiohttpClient, settings: Settings, simulator: Simulator
) -> None:
    settings = dataclasses.replace(settings, tokens_per_day=40, trusted_proxies=("127.0.0.1",))
    app = create_app(settings)
    quota = DailyQuota(settings, max_clients=3)  # as 100,000 clients would, in 3
    app[observers_key][app[observers_key].index(app[quota_key])] = quota
    app[quota_key] = quota
    client = await aiohttp_client(app)

    async def chat(address: str, answer: str | None = "ok") -> int:
        if answer is not None:  # for a request that reaches the model
            simulator.script(answer)
        response = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": address})
        if response.status == 200:
            await read_events(response)
        await asyncio.wait_for(app[open_streams_key].wait_until_idle(), 5)  # counted as it ended
        return response.status

    for n in range(3):
        assert await chat(f"203.0.113.{n}") == 200  # the table is full
    assert await chat("198.51.100.1", "one two three four five six seven eight nine ten " * 4) == 200
    assert await chat("198.51.100.1", None) == 429  # over its quota, though not in the table
    assert await chat("198.51.100.2", None) == 429  # newcomers share that count
    assert await chat("203.0.113.0") == 200  # those in the table keep their own


# IPv6: one subscriber's /64 is one client.


async def test_addresses_of_one_ipv6_64_share_one_sign_in_count(
    make_client: ClientFactory, shared: dict[str, Any]
) -> None:
    client = await make_client(**LOCKED, **shared)
    statuses = [await _sign_in(client, f"2001:db8:1:2::{n:x}", password=f"guess {n}") for n in range(1, 8)]
    assert statuses == [401] * 5 + [429] * 2
    assert await _sign_in(client, "2001:db8:1:3::1", password="guess") == 401  # the next /64 is another


async def test_addresses_of_one_ipv6_64_share_one_rate_limit_and_quota(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(requests_per_minute=2, tokens_per_day=40, trusted_proxies=("127.0.0.1",))

    async def chat(address: str, answer: str | None = "ok") -> tuple[int, str]:
        if answer is not None:  # for a request that reaches the model
            simulator.script(answer)
        response = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": address})
        if response.status != 200:
            return response.status, (await response.json())["error"]["code"]
        await read_events(response)
        await asyncio.wait_for(client.app[open_streams_key].wait_until_idle(), 5)
        return 200, ""

    assert await chat("2001:db8::1") == (200, "")
    assert await chat("2001:db8::2") == (200, "")
    assert await chat("2001:db8::ffff:1234", None) == (429, "rate_limited")
    assert await chat("2001:db8:0:1::1", "one two three four five six seven eight nine ten " * 4) == (200, "")
    assert await chat("2001:db8:0:1::2", None) == (429, "quota_exceeded")
    assert await chat("2001:db8:0:2::1") == (200, "")
