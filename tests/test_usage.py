"""Usage per client: what the model service reported, added up per client, deployment and day;
`/api/usage` for one's own, and for everyone's to the administrators."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from typing import Any

import pytest

from chat import Settings, SettingsError
from chat.accounting.outcome import Tokens
from chat.accounting.usage import KEEP_DAYS, MemoryUsageStore, usage_key, utc_today
from chat.simulator import Simulator

from .outcomes import watch
from .sse_client import chat_body, read_events
from .typedefs import Client, ClientFactory

ALICE, BOB = "alice-token-of-enough-characters", "bob-token-of-enough-characters"
COUNTS = ("requests", "prompt_tokens", "completion_tokens", "reasoning_tokens", "total_tokens")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def chat(client: Client, text: str, token: str | None = None, deployment: str | None = None) -> dict[str, Any]:
    """One whole answer; its usage as the model service reported it."""
    outcomes = watch(client)
    body: dict[str, Any] = chat_body(text) | ({"deployment": deployment} if deployment else {})
    events, _ = await read_events(await client.post("/api/chat", json=body, headers=bearer(token) if token else {}))
    assert events[-1].name == "done"
    await outcomes.next()  # counted
    usage: dict[str, Any] = events[-1].data["usage"]
    return usage


def added(usages: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "requests": len(usages),
        "prompt_tokens": sum(u["prompt_tokens"] for u in usages),
        "completion_tokens": sum(u["completion_tokens"] for u in usages),
        "reasoning_tokens": sum((u.get("completion_tokens_details") or {}).get("reasoning_tokens", 0) for u in usages),
        "total_tokens": sum(u["total_tokens"] for u in usages),
    }


def counts(summary: dict[str, Any]) -> dict[str, int]:
    return {name: summary[name] for name in COUNTS}


NONE_ESTIMATED = dict.fromkeys(COUNTS, 0)


async def test_own_use_adds_up_to_what_the_model_service_reported(
    make_client: ClientFactory, simulator: Simulator
) -> None:
    simulator.profiles = {"o-test": "reasoning"}
    client = await make_client(deployments=("gpt-test", "o-test"))
    plain = [await chat(client, question) for question in ("one", "two question words")]
    reasoned = [await chat(client, "think about it", deployment="o-test")]
    assert added(reasoned)["reasoning_tokens"] > 0

    response = await client.get("/api/usage")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    usage = await response.json()
    assert usage["client"] == "ip:127.0.0.1"
    for period in ("today", "month"):
        assert counts(usage[period]) == added(plain + reasoned)
        assert usage[period]["estimated"] == NONE_ESTIMATED
        assert counts(usage[period]["deployments"]["gpt-test"]) == added(plain)
        assert counts(usage[period]["deployments"]["o-test"]) == added(reasoned)
    assert usage["today"]["since"] == utc_today().isoformat()
    assert usage["month"]["since"] == utc_today().replace(day=1).isoformat()


async def test_a_stream_its_client_left_is_counted_as_estimated(client: Client, simulator: Simulator) -> None:
    reported = await chat(client, "a whole answer first")
    outcomes = watch(client)
    simulator.token_delay = 0.005
    simulator.script("word " * 2000)
    response = await client.post("/api/chat", json=chat_body())
    assert (await response.content.readuntil(b"\n\n")).startswith(b"event: delta\n")
    response.close()  # Stop, before the usage came
    outcome = await outcomes.next()
    estimate = outcome.tokens()
    assert outcome.name == "client_gone" and estimate is not None and estimate.estimated

    today = (await (await client.get("/api/usage")).json())["today"]
    assert today["estimated"] == {
        "requests": 1,
        "prompt_tokens": estimate.prompt,
        "completion_tokens": estimate.completion,
        "reasoning_tokens": 0,
        "total_tokens": estimate.total,
    }
    assert today["requests"] == 2
    assert today["total_tokens"] == reported["total_tokens"] + estimate.total


@pytest.fixture
async def team(make_client: ClientFactory) -> Client:
    """Two named tokens, and alice may see everyone's use."""
    return await make_client(api_tokens=(f"alice={ALICE}", f"bob={BOB}"), usage_admins=("token:alice",))


async def test_each_client_sees_their_own_and_an_admin_everyones(team: Client) -> None:
    alices = [await chat(team, "from alice", ALICE), await chat(team, "again from alice", ALICE)]
    bobs = [await chat(team, "from bob", BOB)]

    own = await (await team.get("/api/usage", headers=bearer(BOB))).json()
    assert own["client"] == "token:bob"
    assert counts(own["today"]) == added(bobs)

    refused = await team.get("/api/usage?scope=all", headers=bearer(BOB))
    assert refused.status == 403
    error = (await refused.json())["error"]
    assert error["code"] == "forbidden" and "CHAT_USAGE_ADMINS" in error["message"]

    everyone = await (await team.get("/api/usage?scope=all", headers=bearer(ALICE))).json()
    assert everyone["period"] == everyone["since"] == everyone["until"] == utc_today().isoformat()
    assert [(row["client"], row["deployment"]) for row in everyone["rows"]] == [
        ("token:alice", "gpt-test"),
        ("token:bob", "gpt-test"),
    ]
    assert counts(everyone["rows"][0]) == added(alices)
    assert counts(everyone["rows"][1]) == added(bobs)
    assert counts(everyone["total"]) == added(alices + bobs)
    assert everyone["total"]["estimated"] == NONE_ESTIMATED


async def test_an_admin_gets_a_month_as_csv(team: Client) -> None:
    bobs = [await chat(team, "from bob", BOB)]
    earlier = utc_today().replace(day=1) - datetime.timedelta(days=1)  # in last month
    team.app[usage_key].store.add(
        earlier, "user:carol", "gpt-test", Tokens(prompt=5, completion=7, reasoning=0, estimated=True)
    )

    response = await team.get(f"/api/usage?scope=all&format=csv&month={utc_today():%Y-%m}", headers=bearer(ALICE))
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="usage-{utc_today():%Y-%m}.csv"'
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [(row["period"], row["client"], row["deployment"]) for row in rows] == [
        (f"{utc_today():%Y-%m}", "token:bob", "gpt-test")
    ]
    assert {name: int(rows[0][name]) for name in COUNTS} == added(bobs)
    assert int(rows[0]["estimated_total_tokens"]) == 0

    last_month = await team.get(f"/api/usage?scope=all&format=csv&month={earlier:%Y-%m}", headers=bearer(ALICE))
    (carol,) = csv.DictReader(io.StringIO(await last_month.text()))
    assert (carol["client"], carol["total_tokens"], carol["estimated_total_tokens"]) == ("user:carol", "12", "12")
    one_day = await (await team.get(f"/api/usage?scope=all&day={earlier}", headers=bearer(ALICE))).json()
    assert [row["client"] for row in one_day["rows"]] == ["user:carol"]


@pytest.mark.parametrize(
    "query",
    ["scope=all&month=2026-13", "scope=all&day=2026-11-24&month=2026-11", "scope=all&format=xml", "scope=every", "x=1"],
    ids=["bad-month", "day-and-month", "bad-format", "bad-scope", "unknown"],
)
async def test_a_malformed_question_is_a_400(team: Client, query: str) -> None:
    response = await team.get(f"/api/usage?{query}", headers=bearer(ALICE))
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_request"


async def test_usage_needs_sign_in_and_never_shows_a_token(team: Client) -> None:
    assert (await team.get("/api/usage")).status == 401
    await chat(team, "hello", ALICE)
    for query in ("", "?scope=all", "?scope=all&format=csv"):
        text = await (await team.get(f"/api/usage{query}", headers=bearer(ALICE))).text()
        assert ALICE not in text and BOB not in text


async def test_a_plain_token_is_still_known_by_its_hash(make_client: ClientFactory) -> None:
    client = await make_client(api_tokens=(ALICE,))
    await chat(client, "hello", ALICE)
    own = await (await client.get("/api/usage", headers=bearer(ALICE))).json()
    assert own["client"] == "token:" + hashlib.sha256(ALICE.encode()).hexdigest()[:12]


async def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryUsageStore()
    today = utc_today()
    oldest, too_old = today - datetime.timedelta(days=KEEP_DAYS), today - datetime.timedelta(days=KEEP_DAYS + 1)
    tokens = Tokens(prompt=1, completion=1, reasoning=0, estimated=False)
    store.add(too_old, "user:ada", "gpt-test", tokens)
    store.add(oldest, "user:ada", "gpt-test", tokens)
    monkeypatch.setattr("chat.accounting.usage.MAX_ROWS_PER_DAY", 2)
    for client in ("user:ada", "user:bob", "user:carol", "user:dan"):
        store.add(today, client, "gpt-test", tokens)  # a new day: the one too old is forgotten
    rows = await store.all(too_old)
    assert [(row.day, row.client, row.usage.all.requests) for row in rows] == [
        (oldest, "user:ada", 1),
        (today, "user:ada", 1),
        (today, "user:bob", 1),
        (today, "other", 2),
    ]


@pytest.mark.parametrize(
    ("tokens", "named"),
    [
        ("ci=a-token-of-enough-characters", (("ci", "a-token-of-enough-characters"),)),
        ("QUJDREVGR0hJSktMTU5PUA==", ((None, "QUJDREVGR0hJSktMTU5PUA=="),)),  # base64 padding: plain
        ("ci=a=token=with=equals=signs", (("ci", "a=token=with=equals=signs"),)),
    ],
    ids=["named", "base64-plain", "equals-inside"],
)
def test_tokens_may_have_names(tokens: str, named: tuple[tuple[str | None, str], ...]) -> None:
    assert Settings.from_env({"CHAT_API_TOKENS": tokens}).named_tokens == named


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHAT_API_TOKENS": "ci=too-short"}, "at least 16 characters each, alone or as name=token"),
        ({"CHAT_API_TOKENS": f"ci={ALICE},ci={BOB}"}, "CHAT_API_TOKENS names 'ci' more than once"),
        ({"CHAT_API_TOKENS": f"ci={ALICE}", "CHAT_USAGE_ADMINS": "token:cd"}, "no token in CHAT_API_TOKENS"),
        ({"CHAT_USAGE_ADMINS": "ip:10.0.0.1"}, "must hold user names or token:NAME"),
    ],
    ids=["short-named-token", "repeated-name", "unknown-token-admin", "address-admin"],
)
def test_token_and_admin_settings_are_checked(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        Settings.from_env(env)
    assert ALICE not in str(refused.value) and BOB not in str(refused.value)


def test_admins_are_kept_as_client_identities() -> None:
    settings = Settings.from_env({"CHAT_USAGE_ADMINS": "ada, user:bob", "CHAT_METRICS": "off"})
    assert settings.usage_admins == ("user:ada", "user:bob")
    assert settings.metrics is False


async def test_the_csv_gives_a_spreadsheet_no_formula_in_a_client_name(make_client: ClientFactory) -> None:
    """A user name is whatever the proxy's header says; where `;` separates a spreadsheet's list items,
    `ada;=HYPERLINK(...)` would start a formula in a cell of its own."""
    client = await make_client(
        trusted_user_header="X-Forwarded-User", trusted_proxies=("127.0.0.1",), usage_admins=("admin",)
    )
    names = ['ada;=HYPERLINK("https://evil.example","x")', "bob; +1", "carol\t@SUM(1)", 'dan,"-2', "-eve"]
    for name in names:
        response = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-User": name})
        await read_events(response)
    response = await client.get("/api/usage?scope=all&format=csv", headers={"X-Forwarded-User": "admin"})
    text = await response.text()
    lines = text.splitlines()
    assert lines[0].startswith('"period","client","deployment","requests"')
    for line in lines[1:]:
        assert line.startswith('"') and line.endswith(",0")  # every text cell quoted, the counts not
        for separator in (",", ";", "\t", "|"):
            for piece in line.split(separator):
                assert not piece.lstrip(' "').startswith(("=", "+", "-", "@")), (separator, piece, line)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["client"] for row in rows) == sorted(
        [
            'user:ada;\'=HYPERLINK("https://evil.example","x")',
            "user:bob;' +1",
            "user:carol\t'@SUM(1)",
            "user:dan,'\"-2",
            "user:-eve",
        ]
    )
