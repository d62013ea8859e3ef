"""Who may use the server: optional sign-in, and no spending the quota from another site's page."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import ChatError
from .keys import client_id_key, settings_key
from .settings import Settings, canonical_origin

OPEN_ROUTES = frozenset({"healthz"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def access_control(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[settings_key]
    try:
        if request.match_info.route.name not in OPEN_ROUTES:
            request[client_id_key] = identify(request, settings)
            if request.method == "POST":
                check_origin(request, settings)
    except ChatError as error:
        return error.to_response()
    return await handler(request)


def identify(request: web.Request, settings: Settings) -> str:
    """The client's identity for limits and logs; never a secret. Raises 401 when sign-in fails."""
    if not settings.access_controlled:
        return f"ip:{client_address(request, settings)}"
    if settings.trusted_user_header and from_trusted_proxy(request, settings):
        if proxied_user := request.headers.get(settings.trusted_user_header, "").strip():
            return f"user:{proxied_user}"
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _matches_any(credentials.strip(), settings.api_tokens):
        return "token:" + hashlib.sha256(credentials.strip().encode()).hexdigest()[:12]
    if scheme.lower() == "basic" and (user := _basic_user(credentials.strip(), settings)):
        return f"user:{user}"
    error = ChatError(401, "unauthorized", "Sign in to use this chat.")
    if settings.basic_auth:
        error.headers["WWW-Authenticate"] = 'Basic realm="chat", charset="UTF-8"'
    raise error


def client_address(request: web.Request, settings: Settings) -> str | None:
    """The client's address; behind a trusted proxy, the one the proxy saw (the last it appended)."""
    if from_trusted_proxy(request, settings) and (forwarded := request.headers.get("X-Forwarded-For")):
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.remote


def check_origin(request: web.Request, settings: Settings) -> None:
    """Refuse a browser POST sent from another site's page (it would spend our quota)."""
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
    hosts = [request.host]
    if from_trusted_proxy(request, settings) and (forwarded := request.headers.get("X-Forwarded-Host")):
        hosts += forwarded.split(",")
    scheme = origin.partition("://")[0]  # behind a TLS proxy the request's own scheme is not the browser's
    if not any(canonical_origin(f"{scheme}://{host.strip()}") == origin for host in hosts):
        raise _foreign()


def from_trusted_proxy(request: web.Request, settings: Settings) -> bool:
    try:
        address = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(settings.trusted_proxies))


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _foreign() -> ChatError:
    return ChatError(
        403,
        "forbidden_origin",
        "Requests from other sites are not accepted. Ask the administrator to add this site to CHAT_ALLOWED_ORIGINS.",
    )


def _matches_any(given: str, secrets: tuple[str, ...]) -> bool:
    # Compare with every secret, in constant time, so timing tells nothing.
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(given.encode(), secret.encode())
    return matched


def _basic_user(credentials: str, settings: Settings) -> str | None:
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    for known_user, known_password in settings.basic_auth:
        if hmac.compare_digest(user.encode(), known_user.encode()) & hmac.compare_digest(
            password.encode(), known_password.encode()
        ):
            return user
    return None


def exposure_warning(settings: Settings) -> str | None:
    """A loud line for start-up when anyone on the network could spend the quota."""
    if settings.access_controlled or _is_loopback(settings.host):
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
