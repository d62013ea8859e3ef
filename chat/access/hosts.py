"""The host names the server answers to. DNS rebinding points a foreign site's name at this
server, which makes that site same-origin with it: only known names are served."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from chat.access.proxies import forwarded_hosts
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def check_host(request: web.Request, settings: Settings) -> None:
    """`Host` and, behind a trusted proxy, each `X-Forwarded-Host`: a proxy that forwards one need
    not check the other, so neither may name a host this server does not answer to."""
    for host in {request.host, *forwarded_hosts(request, settings)}:
        if not host_allowed(_host_name(host), settings):
            raise ChatError(catalogue.UNKNOWN_HOST)


def host_allowed(name: str, settings: Settings) -> bool:
    """Loopback names, the listen address, any IP literal (a rebinding needs a name to rebind), and
    CHAT_ALLOWED_HOSTS."""
    if not name:
        return False
    if name in LOOPBACK_NAMES or name == settings.host.lower().strip("[]") or _is_ip_literal(name):
        return True
    for pattern in settings.allowed_hosts:
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def _host_name(host: str) -> str:
    """`Host` without its port, lower case, IPv6 without brackets or scope id (`%25eth0`)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0].partition("%")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
