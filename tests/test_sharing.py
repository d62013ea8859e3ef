"""Share links on a real SQLite file: a snapshot made by its owner and opened by another person, and
the attacks: sharing or revoking another person's conversation or link, a revoked, expired, guessed or
malformed token, anonymous readers under CHAT_SHARE=team, conversation text that tries to leave the
page's JSON block. tests/test_sharing_postgres.py runs the same on PostgreSQL."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import aiohttp
import pytest

from chat.conversations.store import conversations_key
from chat.sharing.links import MAX_SHARES

from .test_conversations import ADA, BOB, PASSWORD, TOKEN, conversation, put
from .typedefs import Client, ClientFactory

SNAPSHOT = re.compile(r'<script id="snapshot" type="application/json">(.*?)</script>', re.S)
SIGN_IN = {"basic_auth": (("ada", PASSWORD), ("bob", PASSWORD)), "api_tokens": (f"ci={TOKEN}",)}


@pytest.fixture
async def signed_in(make_client: ClientFactory) -> Client:
    return await make_client(**SIGN_IN)


async def share(client: Client, conversation_id: str, body: object = None, headers: dict[str, str] = ADA) -> Any:
    response = await client.post(f"/api/conversations/{conversation_id}/share", json=body, headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def snapshot_of(response: aiohttp.ClientResponse) -> dict[str, Any]:
    assert response.status == 200, await response.text()
    found = SNAPSHOT.search(await response.text())
    assert found is not None
    document: dict[str, Any] = json.loads(found[1])
    return document


async def assert_gone(client: Client, token: str, headers: dict[str, str] = BOB) -> None:
    page = await client.get(f"/s/{token}", headers=headers)
    assert page.status == 404
    text = await page.text()
    assert "no such share link" in text.lower() and "snapshot" not in text


async def test_a_link_shows_the_conversation_as_it_was_to_another_person(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation("Soup", "How do I make soup?", "**Boil** water first."))
    made = await share(signed_in, "c1")
    token = made["token"]
    assert made["url"] == f"/s/{token}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)  # 16 random bytes
    assert (made["conversation_id"], made["title"], made["expires"], made["expired"]) == ("c1", "Soup", None, False)

    # The conversation goes on after it was shared: the link still shows it as it was.
    await put(signed_in, "c1", conversation("Soup", "How do I make soup?", "**Boil** water first.", "And then?"))
    page = await signed_in.get(f"/s/{token}", headers=BOB)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    shown = await snapshot_of(page)
    assert shown["title"] == "Soup"
    assert [(m["role"], m["content"]) for m in shown["messages"]] == [
        ("user", "How do I make soup?"),
        ("assistant", "**Boil** water first."),
    ]
    # A named token is signed in too.
    assert (await signed_in.get(f"/s/{token}", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200

    listed = await (await signed_in.get("/api/shares", headers=ADA)).json()
    assert [link["token"] for link in listed["shares"]] == [token]
    assert listed["shares"][0]["url"] == f"/s/{token}"
    assert (await (await signed_in.get("/api/shares", headers=BOB)).json()) == {"shares": []}


async def test_another_persons_conversation_cannot_be_shared_nor_their_link_revoked(signed_in: Client) -> None:
    await put(signed_in, "ada-only", conversation("Ada's secret", "my plans", "noted"))
    stolen = await signed_in.post("/api/conversations/ada-only/share", headers=BOB)
    assert stolen.status == 404
    assert (await stolen.json())["error"]["code"] == "conversation_not_found"
    unknown = await signed_in.post("/api/conversations/no-such-one/share", headers=ADA)
    assert (await unknown.json())["error"] == (await stolen.json())["error"]  # alike: nothing told

    token = (await share(signed_in, "ada-only"))["token"]
    revoked = await signed_in.delete(f"/api/shares/{token}", headers=BOB)
    assert revoked.status == 404
    assert (await revoked.json())["error"]["code"] == "share_not_found"
    assert (await signed_in.get(f"/s/{token}", headers=BOB)).status == 200  # still Ada's, still open


async def test_a_revoked_link_is_gone(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation())
    token = (await share(signed_in, "c1"))["token"]
    assert (await signed_in.delete(f"/api/shares/{token}", headers=ADA)).status == 204
    await assert_gone(signed_in, token)
    await assert_gone(signed_in, token, ADA)
    again = await signed_in.delete(f"/api/shares/{token}", headers=ADA)
    assert again.status == 404
    assert (await (await signed_in.get("/api/shares", headers=ADA)).json()) == {"shares": []}


async def test_an_expired_link_is_gone(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation())
    made = await share(signed_in, "c1", {"expires_in": 3600})
    assert made["expires"] is not None and made["expired"] is False
    assert (await signed_in.get(f"/s/{made['token']}", headers=BOB)).status == 200
    # An hour later (the database's own record of it moved back, not a clock of the test's).
    repository = signed_in.app[conversations_key].repository
    assert repository is not None
    await repository.database.execute("UPDATE shares SET expires = $1 WHERE token = $2", 1, made["token"])
    await assert_gone(signed_in, made["token"])
    listed = (await (await signed_in.get("/api/shares", headers=ADA)).json())["shares"]
    assert [(link["token"], link["expired"]) for link in listed] == [(made["token"], True)]  # still revocable
    assert (await signed_in.delete(f"/api/shares/{made['token']}", headers=ADA)).status == 204


@pytest.mark.parametrize(
    "body",
    [{"expires_in": 0}, {"expires_in": "1d"}, {"expires_in": 1.5}, {"expires_in": True}, {"until": 5}, [1]],
    ids=["zero", "text", "fraction", "boolean", "unknown-field", "not-an-object"],
)
async def test_a_bad_expiry_is_refused(signed_in: Client, body: object) -> None:
    await put(signed_in, "c1", conversation())
    refused = await signed_in.post("/api/conversations/c1/share", json=body, headers=ADA)
    assert refused.status == 400
    assert (await refused.json())["error"]["code"] == "invalid_request"


async def test_a_guessed_or_malformed_token_is_gone(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation())
    real = (await share(signed_in, "c1"))["token"]
    neighbour = real[:-1] + ("A" if real[-1] != "A" else "B")
    for token in [secrets.token_urlsafe(16) for _ in range(20)] + [neighbour, real.lower(), real[:-1], real + "A"]:
        if token != real:
            await assert_gone(signed_in, token)
    for path in ("/s/..%2F..%2Fapi%2Fshares", "/s/%27%20OR%201=1--", "/s/" + "A" * 4000):
        assert (await signed_in.get(path, headers=BOB)).status in (404, 414), path
    assert (await signed_in.delete("/api/shares/' OR 1=1 --", headers=ADA)).status == 404
    assert (await signed_in.get(f"/s/{real}", headers=BOB)).status == 200


async def test_team_links_ask_anonymous_readers_to_sign_in(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation("Soup", "the secret ingredient?", "Saffron."))
    token = (await share(signed_in, "c1"))["token"]
    anonymous = await signed_in.get(f"/s/{token}")
    assert anonymous.status == 401
    assert "Saffron" not in await anonymous.text() and "Soup" not in await anonymous.text()
    wrong = await signed_in.get(f"/s/{token}", headers={"Authorization": "Bearer not-a-token-of-ours"})
    assert wrong.status == 401 and "Saffron" not in await wrong.text()


async def test_public_links_open_to_anyone(make_client: ClientFactory) -> None:
    client = await make_client(**SIGN_IN, share="public")
    await put(client, "c1", conversation("Soup", "q", "Saffron."))
    token = (await share(client, "c1"))["token"]
    shown = await snapshot_of(await client.get(f"/s/{token}"))
    assert shown["messages"][1]["content"] == "Saffron."
    # Only the page is open: the API still wants sign-in.
    assert (await client.get("/api/shares")).status == 401
    assert (await client.post("/api/conversations/c1/share")).status == 401
    await assert_gone(client, secrets.token_urlsafe(16), {})


async def test_sharing_off_makes_and_opens_no_link(make_client: ClientFactory, tmp_path: Any) -> None:
    data_dir = str(tmp_path / "shared-data")
    client = await make_client(**SIGN_IN, data_dir=data_dir)
    await put(client, "c1", conversation())
    token = (await share(client, "c1"))["token"]
    await client.close()
    off = await make_client(**SIGN_IN, data_dir=data_dir, share="off")
    refused = await off.post("/api/conversations/c1/share", headers=ADA)
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "sharing_off"
    assert (await off.get("/api/shares", headers=ADA)).status == 403
    await assert_gone(off, token)


async def test_a_deleted_conversation_takes_its_links(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation())
    token = (await share(signed_in, "c1"))["token"]
    assert (await signed_in.delete("/api/conversations/c1", headers=ADA)).status == 204
    await assert_gone(signed_in, token)
    assert (await (await signed_in.get("/api/shares", headers=ADA)).json()) == {"shares": []}


async def test_conversation_text_cannot_leave_the_snapshot(signed_in: Client) -> None:
    hostile = '</script><script>alert(1)</script><!-- <script> & "quotes" \u2028'
    await put(signed_in, "c1", conversation(f"Title {hostile}", hostile, f"<img src=x onerror=alert(1)>{hostile}"))
    token = (await share(signed_in, "c1"))["token"]
    page = await signed_in.get(f"/s/{token}", headers=BOB)
    text = await page.text()
    assert "<script>alert(1)" not in text and "<img src=x" not in text
    assert text.count("<script") == 2  # the page's module and its data block, nothing of the conversation's
    shown = await snapshot_of(page)
    assert shown["messages"][0]["content"] == hostile
    assert "<title>Title &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--" in text  # as text


async def test_a_persons_links_are_bounded(signed_in: Client) -> None:
    await put(signed_in, "c1", conversation())
    repository = signed_in.app[conversations_key].repository
    assert repository is not None
    token = (await share(signed_in, "c1"))["token"]
    for number in range(MAX_SHARES - 1):  # written straight in: a thousand requests would be slow
        await repository.database.execute(
            "INSERT INTO shares (token, owner, conversation, title, messages, created) "
            "SELECT $1, owner, conversation, title, messages, created FROM shares WHERE token = $2",
            f"filler-{number}", token,
        )  # fmt: skip
    refused = await signed_in.post("/api/conversations/c1/share", headers=ADA)
    assert refused.status == 400
    assert (await refused.json())["error"]["code"] == "too_many_shares"
    assert (await signed_in.post("/api/conversations/c1/share", headers=BOB)).status == 404
