"""Which reverse proxies are believed, and what they say about the client: its address (the
right-most one in `X-Forwarded-For` that no trusted proxy added) and the host it asked for."""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web

from chat.config.settings import Settings
from chat.log.lines import line

MAX_HOPS = 20  # X-Forwarded-For entries looked at; a longer chain is no proxy set-up of ours

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDING_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "Forwarded")


def parse_address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, settings: Settings) -> bool:
    return address is not None and any(address in network for network in _networks(settings.trusted_proxies))


def from_trusted_proxy(request: web.Request, settings: Settings) -> bool:
    return is_trusted(parse_address(request.remote or ""), settings)


def client_address(request: web.Request, settings: Settings) -> str:
    """The client's address. Behind trusted proxies, each appends the address it saw, and a client
    can write anything to the left of those: the right-most address no trusted proxy added is the
    client, however many proxies (a load balancer, then nginx) there are."""
    remote = parse_address(request.remote or "")
    if not is_trusted(remote, settings):
        return str(remote) if remote else "unknown"
    hops = [hop for header in request.headers.getall("X-Forwarded-For", ()) for hop in header.split(",")]
    for hop in reversed(hops[-MAX_HOPS:]):
        address = parse_address(hop)
        if not is_trusted(address, settings):
            return str(address) if address else "unknown"  # never the raw text: it is the client's to write
    return str(remote)


def forwarded_hosts(request: web.Request, settings: Settings) -> list[str]:
    """The hosts the browser asked for: behind a trusted proxy, those it forwarded; else `Host`."""
    if from_trusted_proxy(request, settings) and (forwarded := request.headers.get("X-Forwarded-Host")):
        return [host.strip() for host in forwarded.split(",")[:MAX_HOPS]]
    return [request.host]


def forwarded_by_untrusted(request: web.Request, settings: Settings) -> bool:
    """Whether a proxy we were not told about forwards other clients' requests."""
    return not from_trusted_proxy(request, settings) and any(name in request.headers for name in FORWARDING_HEADERS)


def untrusted_proxy_warning(request: web.Request, settings: Settings) -> str:
    return line(
        "chat untrusted-proxy",
        remote=request.remote or "",
        advice="requests carry forwarding headers from an address not in CHAT_TRUSTED_PROXIES: everyone behind that "
        "proxy counts as one client"
        + ("" if settings.access_controlled else ", and nobody has to sign in")
        + ". Set CHAT_TRUSTED_PROXIES to the proxy's address if it is yours.",
    )


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
