"""Sign-in: who the client is (a user, a token, or else an address network), from what a trusted
proxy says or what the request itself carries; its failed attempts are slowed (sign_in_throttle.py)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import ipaddress

from aiohttp import web

from chat.access.proxies import client_address, from_trusted_proxy
from chat.access.sign_in_throttle import USER_CAP, SignInThrottle
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    client: str  # for limits, logs and usage: user:NAME, token:NAME (or token:HASH) or ip:NETWORK
    address: str


class SignInRefused(ChatError):
    """401: no valid credentials. Says who tried, and whether it was an attempt (credentials sent)
    at all, for the log line fail2ban reads."""

    def __init__(self, address: str, user: str | None, *, ask_for_basic: bool, attempted: bool = True) -> None:
        super().__init__(catalogue.UNAUTHORIZED)
        self.address = address
        self.user = user
        self.attempted = attempted
        if ask_for_basic:
            self.headers["WWW-Authenticate"] = 'Basic realm="chat", charset="UTF-8"'


def network_of(address: str) -> str:
    """Whom an address stands for in limits, quotas and sign-in counts: an IPv4 address itself, an
    IPv6 address its /64 (one subscriber's usual allocation, so changing the rest gains nothing)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address


async def identify(request: web.Request, settings: Settings, throttle: SignInThrottle) -> Identity:
    """The client's identity for limits and logs; never a secret. 401 when sign-in fails, 429 while
    the address or the user name must wait after failing too often."""
    address = client_address(request, settings)
    network = network_of(address)
    if not settings.access_controlled:
        return Identity(f"ip:{network}", address)
    if settings.trusted_user_header and from_trusted_proxy(request, settings):
        if proxied_user := request.headers.get(settings.trusted_user_header, "").strip():
            return Identity(f"user:{proxied_user[:USER_CAP]}", address)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    user = _basic_user_name(credentials) if scheme.lower() == "basic" else None
    failures = await throttle.check(network, user)
    if scheme.lower() == "bearer" and (token := _token_client(credentials, settings)):
        return Identity(token, address)
    if scheme.lower() == "basic" and (known := _basic_user(credentials, settings)):
        await throttle.signed_in(network, known, failures=failures)
        return Identity(f"user:{known}", address)
    # A browser's first request, without credentials, is no attempt: it is only asked for them.
    if scheme:
        await throttle.failed(network, user)
    raise SignInRefused(address, user, ask_for_basic=bool(settings.basic_auth), attempted=bool(scheme))


def _token_client(given: str, settings: Settings) -> str | None:
    """`token:NAME` for a named token, `token:HASH` for a plain one, None for no token of ours."""
    # Compare with every token, in constant time, so timing tells nothing.
    client = None
    for name, token in settings.named_tokens:
        if hmac.compare_digest(given.encode(), token.encode()):
            client = f"token:{name}" if name else "token:" + hashlib.sha256(given.encode()).hexdigest()[:12]
    return client


def _basic_pair(credentials: str) -> tuple[str, str] | None:
    try:
        user, colon, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


def _basic_user_name(credentials: str) -> str | None:
    pair = _basic_pair(credentials)
    return pair[0] if pair else None


def _basic_user(credentials: str, settings: Settings) -> str | None:
    pair = _basic_pair(credentials)
    if pair is None:
        return None
    user, password = pair
    for known_user, known_password in settings.basic_auth:
        if hmac.compare_digest(user.encode(), known_user.encode()) & hmac.compare_digest(
            password.encode(), known_password.encode()
        ):
            return user
    return None
