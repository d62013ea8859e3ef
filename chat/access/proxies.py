"""Which reverse proxies are believed, and what they say about the client: its address (the
right-most one in `X-Forwarded-For`, or RFC 7239 `Forwarded`, that no trusted proxy added) and the
host it asked for. A proxy is believed when it connects from CHAT_TRUSTED_PROXIES and, with
CHAT_PROXY_SECRET, sends that secret in `X-Chat-Proxy-Secret`."""

from __future__ import annotations

import dataclasses
import functools
import hmac
import ipaddress
import logging
import re
import weakref

from aiohttp import web

from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.log.lines import line

MAX_HOPS = 20  # X-Forwarded-For entries looked at; a longer chain is no proxy set-up of ours
MAX_HOP_CHARS = 64  # of one entry: the longest address with a port is far shorter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SECRET_HEADER = "X-Chat-Proxy-Secret"
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "Forwarded")
_PORT = re.compile(r"\d{1,5}|_[A-Za-z0-9._-]+")  # RFC 7239 allows an obfuscated port too

log = logging.getLogger("chat.access")


@dataclasses.dataclass
class _Notices:
    """The warnings given once per app."""

    unreadable_hop: bool = False
    missing_secret: bool = False


_notices: weakref.WeakKeyDictionary[web.Application, _Notices] = weakref.WeakKeyDictionary()


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`, `[2001:db8::1]`,
    `[2001:db8::1]:4711`, and RFC 7239's quoted form `"[2001:db8::1]:4711"`. IPv6 scope ids
    (`%eth0`) and IPv4-mapped forms are dropped, so that one client is one address."""
    text = text.strip()
    if len(text) > MAX_HOP_CHARS:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    if text.startswith("["):
        text, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:]))):
            return None
    elif text.count(":") == 1:  # IPv4 with a port (IPv6 has two colons or more)
        text, _, port = text.partition(":")
        if not _PORT.fullmatch(port):
            return None
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, settings: Settings) -> bool:
    return address is not None and any(address in network for network in _networks(settings.trusted_proxies))


def from_trusted_address(request: web.Request, settings: Settings) -> bool:
    """Whether the request comes from an address of CHAT_TRUSTED_PROXIES (its secret not yet checked)."""
    return is_trusted(parse_address(request.remote or ""), settings)


def from_trusted_proxy(request: web.Request, settings: Settings) -> bool:
    """Whether the request's forwarding and identity headers are believed: from a trusted address
    and, with CHAT_PROXY_SECRET, carrying it (compared in constant time)."""
    if not from_trusted_address(request, settings):
        return False
    return settings.proxy_secret is None or hmac.compare_digest(
        request.headers.get(SECRET_HEADER, "").encode(), settings.proxy_secret.encode()
    )


def trusted_headers(settings: Settings) -> tuple[str, ...]:
    """The headers only a trusted proxy may set: each must arrive once."""
    names = [*FORWARDING_HEADERS, SECRET_HEADER, settings.trusted_user_header, settings.trusted_groups_header]
    return tuple(name for name in names if name)


def check_single_copies(request: web.Request, settings: Settings) -> None:
    """400 for a request from a trusted address with two copies of a header it is trusted for:
    a proxy that appends its own copy puts it after the client's, and which one is meant cannot be
    told. (One header listing several hops is fine; two headers are not.)"""
    if not from_trusted_address(request, settings):
        return
    for name in trusted_headers(settings):
        if len(request.headers.getall(name, ())) > 1:
            log.warning(line("chat repeated-header", header=name, remote=request.remote or ""))
            raise ChatError(catalogue.REPEATED_HEADER)


def client_address(request: web.Request, settings: Settings) -> str:
    """The client's address. Behind trusted proxies, each appends the address it saw, and a client
    can write anything to the left of those: the right-most address no trusted proxy added is the
    client, however many proxies (a load balancer, then nginx) there are. An entry that cannot be
    read stands for the nearest trusted proxy's address (with a warning, once): never one name
    shared by everyone, nor the raw text, which is the client's to write."""
    remote = parse_address(request.remote or "")
    if not from_trusted_proxy(request, settings):
        return str(remote) if remote else "unknown"
    nearest = remote
    for hop in reversed(_hops(request)[-MAX_HOPS:]):
        address = parse_address(hop)
        if address is None:
            _warn_once(request, "unreadable_hop", _unreadable_hop_warning(request, str(nearest)))
            return str(nearest)
        if not is_trusted(address, settings):
            return str(address)
        nearest = address
    return str(remote)


def _hops(request: web.Request) -> list[str]:
    """The addresses the proxies recorded, oldest first: `X-Forwarded-For`, or else `Forwarded`'s `for=`."""
    if listed := request.headers.getall("X-Forwarded-For", ()):
        return [hop for header in listed for hop in header.split(",")]
    return [
        _forwarded_for(element) for header in request.headers.getall("Forwarded", ()) for element in header.split(",")
    ]


def _forwarded_for(element: str) -> str:
    """The `for=` of one RFC 7239 element (`for=192.0.2.7;proto=https`), or "" (then it is unreadable)."""
    for pair in element.split(";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip().lower() == "for":
            return value.strip()
    return ""


def forwarded_hosts(request: web.Request, settings: Settings) -> list[str]:
    """The hosts the browser asked for: behind a trusted proxy, those it forwarded; else `Host`."""
    if from_trusted_proxy(request, settings) and (forwarded := request.headers.get("X-Forwarded-Host")):
        return [host.strip() for host in forwarded.split(",")[:MAX_HOPS]]
    return [request.host]


def forwarded_by_untrusted(request: web.Request, settings: Settings) -> bool:
    """Whether a proxy we were not told about forwards other clients' requests."""
    return not from_trusted_address(request, settings) and any(name in request.headers for name in FORWARDING_HEADERS)


def untrusted_proxy_warning(request: web.Request, settings: Settings) -> str:
    return line(
        "chat untrusted-proxy",
        remote=request.remote or "",
        advice="requests carry forwarding headers from an address not in CHAT_TRUSTED_PROXIES: everyone behind that "
        "proxy counts as one client"
        + ("" if settings.access_controlled else ", and nobody has to sign in")
        + ". Set CHAT_TRUSTED_PROXIES to the proxy's address if it is yours.",
    )


def warn_of_missing_secret(request: web.Request, settings: Settings) -> None:
    """Once: a trusted address sends forwarding or identity headers without CHAT_PROXY_SECRET's
    value (never quoted), so they are not believed."""
    if settings.proxy_secret is None or not from_trusted_address(request, settings):
        return
    if any(name in request.headers for name in trusted_headers(settings)) and not from_trusted_proxy(request, settings):
        advice = (
            f"requests from CHAT_TRUSTED_PROXIES lack {SECRET_HEADER} set to CHAT_PROXY_SECRET: their forwarding "
            "and identity headers are not believed"
        )
        _warn_once(
            request, "missing_secret", line("chat proxy-secret-missing", remote=request.remote or "", advice=advice)
        )


def _unreadable_hop_warning(request: web.Request, nearest: str) -> str:
    return line(
        "chat unreadable-forwarded-for",
        remote=request.remote or "",
        advice=f"an X-Forwarded-For or Forwarded entry is no address: such clients count as the proxy {nearest}. "
        "Have the proxy write addresses (a port is fine)",
    )


def _warn_once(request: web.Request, notice: str, message: str) -> None:
    notices = _notices.setdefault(request.app, _Notices())
    if not getattr(notices, notice):
        setattr(notices, notice, True)
        log.warning(message)


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
