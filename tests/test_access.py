"""Access control, cross-site protection, limits and security headers."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from chat import Settings
from chat.access.control import exposure_warning
from chat.simulator import Fault, Simulator
from chat.state.open_streams import open_streams_key

from .sse_client import chat_body, read_events, text_of
from .typedefs import Client, ClientFactory

TOKEN = "t0ken-with-enough-characters"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
async def locked(make_client: ClientFactory) -> Client:
    return await make_client(basic_auth=(("ada", "s3cret passphrase"),), api_tokens=(TOKEN,))


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/chat"], ids=["page", "static", "api"])
async def test_sign_in_is_required_everywhere_but_healthz(locked: Client, path: str) -> None:
    response = await (locked.post(path, json=chat_body()) if path.startswith("/api") else locked.get(path))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="chat", charset="UTF-8"'
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert (await locked.get("/healthz")).status == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (_basic("ada", "s3cret passphrase"), 200),
        (_basic("ada", "wrong"), 401),
        (_basic("bob", "s3cret passphrase"), 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        ({"Authorization": "Basic !!!not-base64"}, 401),
        ({"Authorization": "Digest abc"}, 401),
    ],
    ids=["basic", "basic-wrong-password", "basic-wrong-user", "bearer", "bearer-wrong", "garbled", "other"],
)
async def test_credentials(locked: Client, headers: dict[str, str], status: int) -> None:
    response = await locked.post("/api/chat", json=chat_body(), headers=headers)
    assert response.status == status
    body = await response.text()
    assert "s3cret" not in body and TOKEN not in body


async def test_trusted_proxy_user_header(make_client: ClientFactory) -> None:
    client = await make_client(trusted_user_header="X-Forwarded-User", trusted_proxies=("127.0.0.1",))
    assert (await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-User": "ada"})).status == 200
    assert (await client.post("/api/chat", json=chat_body())).status == 401
    untrusted = await make_client(trusted_user_header="X-Forwarded-User", trusted_proxies=("10.9.9.9",))
    response = await untrusted.post("/api/chat", json=chat_body(), headers={"X-Forwarded-User": "ada"})
    assert response.status == 401


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "https://tools.example"}, 200),
        ({}, 200),
    ],
    ids=["foreign", "null", "cross-site-without-origin", "allowed", "no-origin"],
)
async def test_cross_site_posts_are_refused(
    make_client: ClientFactory, simulator: Simulator, headers: dict[str, str], status: int
) -> None:
    client = await make_client(allowed_origins=("https://tools.example",))
    response = await client.post("/api/chat", json=chat_body(), headers=headers)
    assert response.status == status
    if status == 403:
        assert (await response.json())["error"]["code"] == "forbidden_origin"
        assert simulator.requests == []


async def test_same_origin_post_is_accepted(client: Client) -> None:
    origin = f"http://{client.host}:{client.port}"
    response = await client.post("/api/chat", json=chat_body(), headers={"Origin": origin})
    assert response.status == 200


@pytest.mark.parametrize("path", ["/healthz", "/static/app.js", "/api/chat", "/nowhere"])
async def test_security_headers_on_every_response(make_client: ClientFactory, path: str) -> None:
    client = await make_client(frame_ancestors="'self' https://intranet.example")
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert csp.endswith("frame-ancestors 'self' https://intranet.example")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_streams_per_client_are_limited(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_streams_per_client=2)
    for _ in range(2):
        simulator.fail_next(Fault.STALL, after_chunks=0)
    held = [await client.post("/api/chat", json=chat_body()) for _ in range(2)]
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert (await response.json())["error"]["code"] == "too_many_streams"
    for stream in held:
        stream.close()
    await asyncio.wait_for(client.app[open_streams_key].wait_until_idle(), 2)
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("free again")))
    assert text_of(events).startswith("You asked: *free again*")


async def test_total_streams_are_limited(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_streams=1)
    simulator.fail_next(Fault.STALL, after_chunks=0)
    held = await client.post("/api/chat", json=chat_body())
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "server_busy"
    held.close()


async def test_requests_per_minute_are_limited(make_client: ClientFactory) -> None:
    client = await make_client(requests_per_minute=3)
    for _ in range(3):
        assert (await client.post("/api/chat", json=chat_body())).status == 200
    response = await client.post("/api/chat", json=chat_body())
    assert response.status == 429
    error = (await response.json())["error"]
    assert error["code"] == "rate_limited"
    assert 1 <= error["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(error["retry_after"])


async def test_max_tokens_is_passed_and_capped(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_tokens=500)
    await (await client.post("/api/chat", json=chat_body())).read()
    assert simulator.requests[-1].body["max_completion_tokens"] == 500
    await (await client.post("/api/chat", json={**chat_body(), "max_completion_tokens": 20})).read()
    assert simulator.requests[-1].body["max_completion_tokens"] == 20
    await (await client.post("/api/chat", json={**chat_body(), "max_tokens": 30})).read()  # the older name
    assert simulator.requests[-1].body["max_completion_tokens"] == 30
    assert all("max_tokens" not in record.body for record in simulator.requests)  # never sent to Azure
    for field in ("max_completion_tokens", "max_tokens"):
        response = await client.post("/api/chat", json={**chat_body(), field: 501})
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "max_tokens_too_large"


@pytest.mark.parametrize(
    ("host", "access", "warns"),
    [
        ("127.0.0.1", {}, False),
        ("::1", {}, False),
        ("localhost", {}, False),
        ("0.0.0.0", {}, True),
        ("192.0.2.10", {}, True),
        ("0.0.0.0", {"api_tokens": (TOKEN,)}, False),
    ],
    ids=["v4-loopback", "v6-loopback", "localhost", "any", "lan", "any-with-token"],
)
def test_exposure_warning(host: str, access: dict[str, Any], warns: bool) -> None:
    warning = exposure_warning(Settings(host=host, **access))
    assert (warning is not None) == warns
    if warning:
        assert warning.startswith("WARNING:") and host in warning


async def test_clients_behind_a_trusted_proxy_are_told_apart(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(max_streams_per_client=1, trusted_proxies=("127.0.0.1",))
    simulator.fail_next(Fault.STALL, after_chunks=0)
    held = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": "198.51.100.7"})
    other = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.8"})
    assert other.status == 200
    await other.read()
    same = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": "198.51.100.7"})
    assert same.status == 429
    held.close()


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("https://chat.example", "chat.example", True),
        ("https://chat.example", "chat.example:443", True),
        ("HTTPS://Chat.Example", "chat.example", True),
        ("https://chat.example:8443", "chat.example:8443", True),
        ("https://chat.example:8443", "chat.example", False),
        ("https://chat.example.evil", "chat.example", False),
        ("https://[::1]:8443", "[::1]:8443", True),
        ("https://user@chat.example", "chat.example", False),
    ],
    ids=["same", "default-port-in-host", "case", "own-port", "other-port", "suffix", "ipv6", "userinfo"],
)
async def test_origin_is_compared_as_browsers_write_it(
    make_client: ClientFactory, origin: str, host: str, accepted: bool
) -> None:
    client = await make_client(allowed_hosts=("chat.example",))
    response = await client.post("/api/chat", json=chat_body(), headers={"Origin": origin, "Host": host})
    assert (response.status == 200) == accepted, await response.text()


async def test_forwarded_host_from_a_trusted_proxy_network(make_client: ClientFactory) -> None:
    hosts = ("chat.example", "inner.proxy")
    client = await make_client(trusted_proxies=("127.0.0.0/8",), allowed_hosts=hosts)
    headers = {"Origin": "https://chat.example", "X-Forwarded-Host": "chat.example, inner.proxy"}
    assert (await client.post("/api/chat", json=chat_body(), headers=headers)).status == 200
    untrusted = await make_client(trusted_proxies=("10.0.0.0/8",), allowed_hosts=hosts)
    assert (await untrusted.post("/api/chat", json=chat_body(), headers=headers)).status == 403


async def test_a_body_that_trickles_in_times_out(make_client: ClientFactory, simulator: Simulator) -> None:
    client = await make_client(body_timeout=0.2)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"messages": '
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 408 ")
        assert simulator.requests == []
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/", "/embed", "/healthz", "/static/app.js"])
async def test_no_secret_in_pages(make_client: ClientFactory, path: str) -> None:
    client = await make_client(
        api_key="sk-secret-azure-key-123", api_tokens=(TOKEN,), basic_auth=(("ada", "s3cret passphrase"),)
    )
    text = await (await client.get(path, headers=_basic("ada", "s3cret passphrase"))).text()
    assert "sk-secret-azure-key-123" not in text and TOKEN not in text and "s3cret" not in text
