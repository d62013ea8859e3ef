"""Who may use the server: the right host name, optional sign-in, and no spending the quota from
another site's page. Runs before every handler."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from chat.access.client_access import client_access, client_access_key
from chat.access.hosts import check_host
from chat.access.metrics_clients import metrics_network
from chat.access.proxies import (
    check_single_copies,
    client_address,
    forwarded_by_untrusted,
    forwarded_hosts,
    from_trusted_proxy,
    untrusted_proxy_warning,
    warn_of_missing_secret,
)
from chat.access.sign_in import SignInRefused, identify, network_of
from chat.access.state import access_state_key
from chat.config.settings import Settings, settings_key
from chat.config.values import canonical_origin
from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError
from chat.log.lines import line

OPEN_ROUTES = frozenset({"healthz"})
SHARED_PAGE_ROUTE = "shared_page"  # chat/sharing/views.py
# Requests whose origin is checked: a page of another site must not write (nor spend) in the client's name.
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("chat.access")


@web.middleware
async def access_control(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[settings_key]
    state = request.app[access_state_key]
    try:
        check_single_copies(request, settings)
        check_host(request, settings)
        warn_of_missing_secret(request, settings)
        if not state.warned_about_proxy and forwarded_by_untrusted(request, settings):
            state.warned_about_proxy = True
            log.warning(untrusted_proxy_warning(request, settings))
        route = request.match_info.route.name
        if route == "metrics" and metrics_network(request, settings):
            # A scraper on a network of CHAT_METRICS_CLIENTS needs no credentials.
            request[client_access_key] = client_access(request, f"ip:{network_of(client_address(request, settings))}")
        elif not is_open(route, settings) or signs_in(request, settings):
            # /healthz signs in only a client that tries: its details are for CHAT_METRICS_CLIENTS.
            identity = await identify(request, settings, state.throttle)
            request[client_access_key] = client_access(request, identity.client)
            if request.method in WRITES:
                check_origin(request, settings)
    except SignInRefused as refused:
        # One line per failed sign-in, for fail2ban: `chat sign-in-failed address="<HOST>"`; none for
        # a request without credentials (a browser's first, answered with the challenge).
        if refused.attempted:
            log.warning(line("chat sign-in-failed", address=refused.address, user=refused.user or ""))
        return error_response(refused)
    except ChatError as error:
        access = request.get(client_access_key)
        state.refusals.refused(error.code, access.client if access else f"ip:{request.remote}", path=request.path)
        return error_response(error)
    return await handler(request)


def is_open(route: str | None, settings: Settings) -> bool:
    """Whether the route serves a client that does not sign in: /healthz, and a share link's page
    when CHAT_SHARE=public."""
    return route in OPEN_ROUTES or (route == SHARED_PAGE_ROUTE and settings.share == "public")


def signs_in(request: web.Request, settings: Settings) -> bool:
    """Whether the request carries credentials (or a trusted proxy names its user)."""
    if "Authorization" in request.headers:
        return True
    header = settings.trusted_user_header
    return bool(header and header in request.headers and from_trusted_proxy(request, settings))


def check_origin(request: web.Request, settings: Settings) -> None:
    """Refuse a browser POST (or another write) sent from another site's page (it would spend our quota)."""
    sent = request.headers.get("Origin")
    if sent is None:
        # Not sent by a browser for this request; a cross-site browser request always says so.
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise _foreign()
        return
    origin = canonical_origin(sent)
    if origin is None:
        raise _foreign()  # "null" (sandboxed frames, files) or garbage
    if origin in settings.allowed_origins:
        return
    scheme = origin.partition("://")[0]  # behind a TLS proxy the request's own scheme is not the browser's
    if not any(canonical_origin(f"{scheme}://{host}") == origin for host in forwarded_hosts(request, settings)):
        raise _foreign()


def _foreign() -> ChatError:
    return ChatError(catalogue.FORBIDDEN_ORIGIN)


def exposure_warning(settings: Settings) -> str | None:
    """A loud line for start-up when anyone on the network could spend the quota: listening beyond
    loopback, or behind a proxy that forwards other people's requests, with no sign-in."""
    if settings.access_controlled:
        return None
    if settings.trusted_proxies:
        return (
            "WARNING: behind the proxies of CHAT_TRUSTED_PROXIES with no access control: anyone who can reach "
            "them can chat on your quota. Set CHAT_BASIC_AUTH, CHAT_API_TOKENS or CHAT_TRUSTED_USER_HEADER."
        )
    if _is_loopback(settings.host):
        return None
    return (
        f"WARNING: listening on {settings.host} with no access control: anyone who can reach this port "
        "can chat on your quota. Set CHAT_BASIC_AUTH, CHAT_API_TOKENS or CHAT_TRUSTED_USER_HEADER."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
