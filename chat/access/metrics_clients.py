"""Who may read `/metrics` and the details of `/healthz` (token sums, endpoint hosts and states):
the clients of CHAT_METRICS_CLIENTS. Unset, nobody once sign-in is on, and without sign-in only a
request from this machine."""

from __future__ import annotations

import functools
import ipaddress

from aiohttp import web

from chat.access.proxies import Network, client_address, forwarded_by_untrusted, parse_address
from chat.config.settings import Settings


def may_read_metrics(request: web.Request, settings: Settings, client: str | None) -> bool:
    """Whether the client (`user:NAME`, `token:NAME`, or None when it has not signed in) may read them."""
    if not settings.metrics_clients:
        return not settings.access_controlled and _from_this_machine(request, settings)
    return (client is not None and client in settings.metrics_clients) or metrics_network(request, settings)


def metrics_network(request: web.Request, settings: Settings) -> bool:
    """Whether the client's address is in a network of CHAT_METRICS_CLIENTS (a scraper without credentials)."""
    networks = _networks(settings.metrics_clients)
    if not networks:
        return False
    address = parse_address(client_address(request, settings))
    return address is not None and any(address in network for network in networks)


def _from_this_machine(request: web.Request, settings: Settings) -> bool:
    """A loopback client, and no proxy we were not told about in between (else every client behind
    that proxy would look local)."""
    address = parse_address(client_address(request, settings))
    return address is not None and address.is_loopback and not forwarded_by_untrusted(request, settings)


@functools.lru_cache(maxsize=8)
def _networks(clients: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for client in clients:
        try:
            networks.append(ipaddress.ip_network(client, strict=False))
        except ValueError:
            continue  # a user or token name
    return tuple(networks)
