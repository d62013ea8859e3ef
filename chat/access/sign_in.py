"""Sign-in: who the client is (a user, a token, or else an address), and failed attempts slowed
down per address and per user name, so that passwords cannot be guessed at speed."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import math
import time

from aiohttp import web

from chat.access.proxies import client_address, from_trusted_proxy
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.shared_state import SharedState, Unavailable

USER_CAP = 128  # characters of a user name kept from a header, for limits and logs
FREE_FAILURES = {"address": 5, "user": 10}  # failures before each further one costs a wait
FIRST_WAIT = 2.0  # seconds to wait once the free failures are spent; doubling with each further one
LONGEST_WAIT = 900.0
FORGET_AFTER = 3600.0  # seconds without a failure after which the count starts again
MAX_TRACKED = 100_000  # addresses and names counted at once, so no flood can grow the table without end


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    client: str  # for limits, logs and usage: user:NAME, token:NAME (or token:HASH) or ip:ADDRESS
    address: str


class SignInRefused(ChatError):
    """401: no valid credentials. Says who tried, for the log line fail2ban reads."""

    def __init__(self, address: str, user: str | None, *, ask_for_basic: bool) -> None:
        super().__init__(catalogue.UNAUTHORIZED)
        self.address = address
        self.user = user
        if ask_for_basic:
            self.headers["WWW-Authenticate"] = 'Basic realm="chat", charset="UTF-8"'


@dataclasses.dataclass(slots=True)
class _Failures:
    count: int
    last: float
    blocked_until: float


# KEYS: the counters of an address and maybe a user name. ARGV: free failures of each, first wait,
# longest wait, seconds after which a count is forgotten. Counts one failure on each.
FAILED = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1e6
for i, key in ipairs(KEYS) do
  local count = redis.call('HINCRBY', key, 'count', 1)
  redis.call('EXPIRE', key, tonumber(ARGV[#KEYS + 3]))
  local beyond = count - tonumber(ARGV[i])
  if beyond >= 0 then
    local wait = math.min(tonumber(ARGV[#KEYS + 2]), tonumber(ARGV[#KEYS + 1]) * 2 ^ beyond)
    redis.call('HSET', key, 'blocked_until', tostring(now + wait))
  end
end
return 0
"""

# KEYS: the counters. Returns the longest wait still to run, in milliseconds.
WAIT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1e6
local wait = 0
for _, key in ipairs(KEYS) do
  local until_ = tonumber(redis.call('HGET', key, 'blocked_until') or '0')
  if until_ - now > wait then wait = until_ - now end
end
return math.ceil(wait * 1000)
"""


class SignInThrottle:
    """Counts failed sign-ins per address and per user name; beyond a few, each further attempt
    must wait twice as long as the last (429 with Retry-After), whatever its credentials. Shared
    through Redis when it is set and reachable, else counted in this process."""

    def __init__(self, shared: SharedState | None = None) -> None:
        self._shared = shared or SharedState(None)
        self._failures: dict[str, _Failures] = {}

    async def check(self, keys: list[str]) -> None:
        try:
            wait = await self._shared.run(lambda r: r.eval(WAIT, len(keys), *_redis_keys(keys))) / 1000
        except Unavailable:
            now = time.monotonic()
            wait = max((f.blocked_until - now for key in keys if (f := self._failures.get(key))), default=0.0)
        if wait > 0:
            seconds = math.ceil(wait)
            raise ChatError(catalogue.TOO_MANY_SIGN_IN_ATTEMPTS, retry_after=seconds)

    async def failed(self, keys: list[str]) -> None:
        free = [FREE_FAILURES[key.partition(":")[0]] for key in keys]
        try:
            await self._shared.run(
                lambda r: r.eval(FAILED, len(keys), *_redis_keys(keys), *free, FIRST_WAIT, LONGEST_WAIT, FORGET_AFTER)
            )
        except Unavailable:
            self._failed_here(keys)

    def _failed_here(self, keys: list[str]) -> None:
        now = time.monotonic()
        if len(self._failures) >= MAX_TRACKED:
            self._forget_old(now)
        for key in keys:
            failures = self._failures.get(key)
            if failures is None or now - failures.last > FORGET_AFTER:
                if len(self._failures) >= MAX_TRACKED:
                    continue  # a full table counts no newcomer rather than forgetting a real attacker
                failures = self._failures[key] = _Failures(0, now, now)
            failures.count += 1
            failures.last = now
            beyond = failures.count - FREE_FAILURES[key.partition(":")[0]]
            if beyond >= 0:
                failures.blocked_until = now + min(LONGEST_WAIT, FIRST_WAIT * 2**beyond)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, f in self._failures.items() if now - f.last > FORGET_AFTER]:
            del self._failures[key]


def _redis_keys(keys: list[str]) -> list[str]:
    return [f"chat:sign-in:{key}" for key in keys]


async def identify(request: web.Request, settings: Settings, throttle: SignInThrottle) -> Identity:
    """The client's identity for limits and logs; never a secret. 401 when sign-in fails, 429 while
    the address or the user name must wait after failing too often."""
    address = client_address(request, settings)
    if not settings.access_controlled:
        return Identity(f"ip:{address}", address)
    if settings.trusted_user_header and from_trusted_proxy(request, settings):
        if proxied_user := request.headers.get(settings.trusted_user_header, "").strip():
            return Identity(f"user:{proxied_user[:USER_CAP]}", address)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    credentials = credentials.strip()
    user = _basic_user_name(credentials) if scheme.lower() == "basic" else None
    keys = [f"address:{address}"] + ([f"user:{user[:USER_CAP]}"] if user else [])
    await throttle.check(keys)
    if scheme.lower() == "bearer" and (token := _token_client(credentials, settings)):
        return Identity(token, address)
    if scheme.lower() == "basic" and (known := _basic_user(credentials, settings)):
        return Identity(f"user:{known}", address)
    if scheme:  # an attempt that failed; a browser's first request without credentials is no attempt
        await throttle.failed(keys)
    raise SignInRefused(address, user, ask_for_basic=bool(settings.basic_auth))


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
