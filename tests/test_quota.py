"""Daily token quotas per client: checked before the upstream request, never cutting an answer,
shared through Redis by every process."""

from __future__ import annotations

import asyncio
import base64
import datetime

import pytest

from chat import Settings, SettingsError
from chat.accounting.quota import DailyQuota
from chat.simulator import Fault, Simulator
from chat.state.open_streams import open_streams_key
from chat.state.shared_state import shared_state_key

from .redis_server import RedisServer
from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory


def _basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:a-long-password".encode()).decode()}


async def _chat(client: Client, text: str = "Hello", **headers: str) -> tuple[int, dict[str, object]]:
    response = await client.post("/api/chat", json=chat_body(text), headers=headers)
    if response.status != 200:
        return response.status, (await response.json())["error"]
    events, _ = await read_events(response)
    return 200, events[-1].data


async def test_a_client_over_its_quota_is_refused_until_it_resets(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(tokens_per_day=40)
    simulator.script("one two three four five six seven eight nine ten")  # 10 completion tokens
    status, done = await _chat(client)
    assert status == 200
    used = done["usage"]["total_tokens"]  # type: ignore[index]
    assert 10 < used < 40
    simulator.script("one two three four five six seven eight nine ten " * 3)  # crosses the quota: never cut
    status, done = await _chat(client)
    assert status == 200 and done["finish_reason"] == "stop"
    status, error = await _chat(client)
    assert status == 429
    assert error["code"] == "quota_exceeded"
    assert "You have used your 40 tokens for today. They renew at 00:00 UTC" in str(error["message"])
    midnight = datetime.datetime.combine(
        datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC
    )
    expected = (midnight - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert abs(int(error["retry_after"]) - expected) < 5  # type: ignore[call-overload]
    assert len(simulator.requests) == 2  # the refusal came before any upstream request


async def test_some_users_have_a_larger_budget(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(
        basic_auth=(("ada", "a-long-password"), ("bob", "a-long-password")),
        tokens_per_day=10,
        token_quotas=("ada=100000",),
    )
    for _ in range(2):
        assert (await _chat(client, **_basic("ada")))[0] == 200
        bob = await _chat(client, **_basic("bob"))
    assert bob[0] == 429 and bob[1]["code"] == "quota_exceeded"


async def test_an_abandoned_answer_counts_its_estimate(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(tokens_per_day=30)
    simulator.script("word " * 200)
    simulator.fail_next(Fault.DROP, after_chunks=120)  # no usage chunk ever comes
    status, error = await _chat(client)
    assert status == 200 and error["code"] == "upstream_unavailable"
    status, error = await _chat(client)
    assert status == 429 and error["code"] == "quota_exceeded"


async def test_the_quota_holds_across_processes(
    make_client: ClientFactory, redis_server: RedisServer, simulator: Simulator
) -> None:
    simulator.script("ok")
    _, done = await _chat(await make_client())
    per_chat = done["usage"]["total_tokens"]  # type: ignore[index]
    shared = {"redis_url": redis_server.url, "tokens_per_day": 3 * per_chat}  # three chats in all
    first, second = await make_client(**shared), await make_client(**shared)
    statuses = []
    for app in (first, second) * 3:
        simulator.script("ok")
        statuses.append((await _chat(app))[0])
        await asyncio.wait_for(app.app[open_streams_key].wait_until_idle(), 5)  # the answer has ended
        await app.app[shared_state_key].settled()  # and its count, added as it ended, has been written
    assert statuses == [200, 200, 200, 429, 429, 429]  # counted apart, each process would allow three


@pytest.mark.parametrize(
    ("reset", "now", "day", "ends"),
    [
        ("00:00", "2026-11-25T23:59:00", "2026-11-25", "2026-11-26T00:00:00"),
        ("06:30", "2026-11-25T06:29:00", "2026-11-24", "2026-11-25T06:30:00"),
        ("06:30", "2026-11-25T06:30:00", "2026-11-25", "2026-11-26T06:30:00"),
    ],
)
def test_the_quota_day_ends_at_the_reset_time(reset: str, now: str, day: str, ends: str) -> None:
    quota = DailyQuota(Settings(tokens_per_day=1, quota_reset=datetime.time.fromisoformat(reset)))
    period = quota.period(datetime.datetime.fromisoformat(now).replace(tzinfo=datetime.UTC))
    assert period == (
        datetime.date.fromisoformat(day),
        datetime.datetime.fromisoformat(ends).replace(tzinfo=datetime.UTC),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHAT_QUOTA_RESET": "25:00"}, "CHAT_QUOTA_RESET (quota_reset) must be a time of day"),
        ({"CHAT_TOKEN_QUOTAS": "ada"}, "CHAT_TOKEN_QUOTAS (token_quotas) must hold client=tokens pairs"),
        ({"CHAT_TOKENS_PER_DAY": "-1"}, "CHAT_TOKENS_PER_DAY (tokens_per_day) must be between 0"),
    ],
)
def test_quota_settings_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


async def test_own_usage_says_how_much_of_the_quota_is_used_and_when_it_renews(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    client = await make_client(tokens_per_day=1000, quota_reset="06:30")
    simulator.script("ok")
    _, done = await _chat(client)
    quota = (await (await client.get("/api/usage")).json())["quota"]
    assert quota["limit"] == 1000
    assert quota["used"] == done["usage"]["total_tokens"]  # type: ignore[index]
    assert datetime.datetime.fromisoformat(quota["resets_at"]).time() == datetime.time(6, 30)
