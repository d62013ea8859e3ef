"""What a trusted proxy's headers are believed for, and the forgeries refused: a second copy of an
identity or forwarding header, a proxy's address without CHAT_PROXY_SECRET, `IP:port` and RFC 7239
forms of the client's address, a `Host` a forwarded host hides, IPv6 scope ids. The test client
connects from 127.0.0.1, which plays the proxy; tests/test_nginx_identity.py goes through nginx."""

from __future__ import annotations

import logging

import pytest

from chat import Settings, SettingsError
from chat.access.proxies import parse_address

from .sse_client import chat_body
from .typedefs import Client, ClientFactory

SECRET = "a-proxy-secret-of-enough-characters"
PROXIED = {"trusted_proxies": ("127.0.0.1",)}


async def client_of(client: Client, **headers: str) -> str:
    """Who the server takes the request's client to be (as limits, quotas and logs name it)."""
    response = await client.get("/api/usage", headers=headers)
    assert response.status == 200, await response.text()
    return str((await response.json())["client"])


def _warnings(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("chat") and word in r.getMessage()]


# A second copy of a trusted header: proxies that append put theirs after the client's.


@pytest.mark.parametrize(
    "header", ["X-Forwarded-User", "X-Forwarded-Groups", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded"]
)
async def test_two_copies_of_a_trusted_header_are_refused(make_client: ClientFactory, header: str) -> None:
    client = await make_client(
        trusted_user_header="X-Forwarded-User", trusted_groups_header="X-Forwarded-Groups", **PROXIED
    )
    values = {
        "X-Forwarded-User": ("admin", "ada"),
        "X-Forwarded-Groups": ("research", "support"),
        "X-Forwarded-For": ("203.0.113.66", "198.51.100.23"),
        "X-Forwarded-Host": ("localhost", "localhost"),
        "Forwarded": ("for=203.0.113.66", "for=198.51.100.23"),
    }[header]
    headers = [(header, value) for value in values]
    if header != "X-Forwarded-User":
        headers.append(("X-Forwarded-User", "ada"))
    response = await client.get("/api/usage", headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "repeated_header"
    # One header that lists several hops is how proxies write them, and stays fine.
    listed = [("X-Forwarded-User", "ada"), ("X-Forwarded-For", "203.0.113.66, 198.51.100.23")]
    assert (await client.get("/api/usage", headers=listed)).status == 200


async def test_copies_from_an_untrusted_address_are_not_read_and_not_refused(make_client: ClientFactory) -> None:
    client = await make_client()
    headers = [("X-Forwarded-For", "203.0.113.66"), ("X-Forwarded-For", "198.51.100.23")]
    assert await client_of(client, **{}) == "ip:127.0.0.1"
    assert (await client.get("/api/usage", headers=headers)).status == 200


# CHAT_PROXY_SECRET: the address alone is not enough.


async def test_without_the_proxy_secret_a_trusted_address_forges_nobody(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(trusted_user_header="X-Forwarded-User", proxy_secret=SECRET, **PROXIED)
    forged = {"X-Forwarded-User": "ada", "X-Forwarded-For": "198.51.100.23"}
    for secret in (None, "wrong-" + SECRET, SECRET[:-1], SECRET + "x"):
        headers = forged | ({"X-Chat-Proxy-Secret": secret} if secret else {})
        assert (await client.get("/api/usage", headers=headers)).status == 401
    assert await client_of(client, **forged, **{"X-Chat-Proxy-Secret": SECRET}) == "user:ada"
    warnings = _warnings(caplog, "CHAT_PROXY_SECRET")
    assert len(warnings) == 1 and "not believed" in warnings[0]
    assert all(SECRET[:12] not in record.getMessage() for record in caplog.records)


async def test_without_the_proxy_secret_the_forwarded_address_is_not_believed(make_client: ClientFactory) -> None:
    client = await make_client(proxy_secret=SECRET, **PROXIED)
    assert await client_of(client, **{"X-Forwarded-For": "198.51.100.23"}) == "ip:127.0.0.1"
    signed = {"X-Forwarded-For": "198.51.100.23", "X-Chat-Proxy-Secret": SECRET}
    assert await client_of(client, **signed) == "ip:198.51.100.23"


def test_the_proxy_secret_is_checked_and_never_quoted() -> None:
    with pytest.raises(SettingsError, match="CHAT_PROXY_SECRET needs CHAT_TRUSTED_PROXIES"):
        Settings.from_env({"CHAT_PROXY_SECRET": SECRET})
    with pytest.raises(SettingsError, match="CHAT_PROXY_SECRET") as error:
        Settings.from_env({"CHAT_PROXY_SECRET": "short secret", "CHAT_TRUSTED_PROXIES": "127.0.0.1"})
    assert "short" not in str(error.value)
    settings = Settings.from_env({"CHAT_PROXY_SECRET": SECRET, "CHAT_TRUSTED_PROXIES": "127.0.0.1"})
    assert SECRET not in repr(settings)


# The client's address as proxies write it: with a port (Azure Application Gateway), RFC 7239.


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("198.51.100.7:50123", "198.51.100.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("[2001:db8::7]:4711", "2001:db8::7"),
        ('"[2001:db8::7]:4711"', "2001:db8::7"),
        ("[2001:db8::7]:_hidden", "2001:db8::7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("fe80::7%eth0", "fe80::7"),
        ("[fe80::7%25eth0]:80", "fe80::7"),
        ("198.51.100.7:port", None),
        ("[2001:db8::7]x", None),
        ("2001:db8::7:4711:x", None),
        ("unknown", None),
        ("", None),
    ],
)
def test_addresses_as_proxies_write_them(written: str, address: str | None) -> None:
    parsed = parse_address(written)
    assert (str(parsed) if parsed else None) == address


async def test_every_client_behind_a_gateway_that_adds_ports_is_itself(make_client: ClientFactory) -> None:
    """Azure Application Gateway writes `client-ip:port`: each client must stay apart (limits,
    sign-in, quotas), and one client on another port must stay one."""
    client = await make_client(requests_per_minute=1, **PROXIED)
    first, second = {"X-Forwarded-For": "198.51.100.7:50123"}, {"X-Forwarded-For": "203.0.113.9:40000"}
    assert (await client.post("/api/chat", json=chat_body(), headers=first)).status == 200
    assert (await client.post("/api/chat", json=chat_body(), headers=second)).status == 200
    again = await client.post("/api/chat", json=chat_body(), headers={"X-Forwarded-For": "198.51.100.7:50124"})
    assert again.status == 429
    assert await client_of(client, **first) == "ip:198.51.100.7"
    assert await client_of(client, **second) == "ip:203.0.113.9"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("for=198.51.100.7", "ip:198.51.100.7"),
        ('for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1', "ip:2001:db8:cafe::"),  # (or its /64)
        ("for=203.0.113.66, for=198.51.100.7:50123", "ip:198.51.100.7"),
        ("For=198.51.100.7;Host=chat.example.com", "ip:198.51.100.7"),
    ],
)
async def test_the_forwarded_header_of_rfc_7239(make_client: ClientFactory, forwarded: str, client: str) -> None:
    app = await make_client(**PROXIED)
    assert (await client_of(app, Forwarded=forwarded)).startswith(client)


async def test_an_unreadable_hop_counts_as_the_nearest_trusted_proxy_with_one_warning(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = await make_client(trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    # The load balancer 10.1.2.3 wrote something no address is; nginx (127.0.0.1) wrote 10.1.2.3.
    assert await client_of(client, **{"X-Forwarded-For": "gateway-7, 10.1.2.3"}) == "ip:10.1.2.3"
    assert await client_of(client, **{"X-Forwarded-For": "x" * 8000}) == "ip:127.0.0.1"
    assert await client_of(client, Forwarded="for=_hidden") == "ip:127.0.0.1"
    assert await client_of(client, Forwarded="for=unknown") == "ip:127.0.0.1"
    warnings = _warnings(caplog, "unreadable-forwarded-for")
    assert len(warnings) == 1 and "10.1.2.3" in warnings[0]
    assert all(
        "x" * 100 not in record.getMessage() and "unknown" not in record.getMessage() for record in caplog.records
    )


async def test_rotating_ipv6_scope_ids_make_no_new_clients(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(requests_per_minute=1, **PROXIED)
    for n, status in enumerate((200, 429, 429)):
        headers = {"X-Forwarded-For": f"fe80::7%eth{n}"}
        assert (await client.post("/api/chat", json=chat_body(), headers=headers)).status == status
    # The address fail2ban is given is the address, whatever scope the entry carried.
    locked = await make_client(api_tokens=(SECRET,), **PROXIED)
    headers = {"X-Forwarded-For": "fe80::7%eth0", "Authorization": "Bearer wrong"}
    assert (await locked.get("/api/usage", headers=headers)).status == 401
    assert _warnings(caplog, "sign-in-failed") == ['chat sign-in-failed address="fe80::7" user=""']


# Host and X-Forwarded-Host: both are checked.


@pytest.mark.parametrize(
    ("host", "forwarded_host", "status"),
    [
        ("chat.example.com", "chat.example.com", 200),
        ("evil.example", "chat.example.com", 400),  # a rebound name the proxy did not check
        ("chat.example.com", "evil.example", 400),
        ("127.0.0.1:8080", "chat.example.com", 200),  # a proxy that sends the upstream's address as Host
        ("[fe80::1%25eth0]:8080", "chat.example.com", 200),
    ],
)
async def test_host_and_forwarded_host_are_both_checked(
    make_client: ClientFactory, host: str, forwarded_host: str, status: int
) -> None:
    client = await make_client(allowed_hosts=("chat.example.com",), **PROXIED)
    headers = {"Host": host, "X-Forwarded-Host": forwarded_host}
    response = await client.get("/healthz", headers=headers)
    assert response.status == status
    if status == 400:
        assert (await response.json())["error"]["code"] == "unknown_host"
