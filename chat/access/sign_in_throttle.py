"""Failed sign-ins slowed down per address network and per user name from each, so that passwords
cannot be guessed at speed, while nobody elsewhere can lock a user out by failing on purpose; in
Redis when the processes share one, else in this process."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import time

import redis.asyncio as redis

from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.shared_state import SharedState, Unavailable

USER_CAP = 128  # characters of a user name kept from a header, for limits and logs
FREE_FAILURES = {"address": 20, "pair": 5}  # failures before each further one costs a wait
FIRST_WAIT = 2.0  # seconds to wait once the free failures are spent; doubling with each further one
LONGEST_WAIT = 900.0
FORGET_AFTER = 3600.0  # seconds without a failure after which the count starts again
USER_CEILING = 100  # failures for one user name, from anywhere, beyond which each network gets one
KNOWN_FOR = 30 * 86400.0  # seconds an address network where a user signed in stays known for them
MAX_TRACKED = 100_000  # counts (and known networks) kept in this process; beyond, the least recent go


@dataclasses.dataclass(slots=True)
class _Failures:
    count: int
    last: float


# The counters of one attempt: the address network's (every name tried from it), the pair of user
# name and network, and the user name's alone. The name's own count never blocks: beyond
# USER_CEILING each network that has failed for the name waits LONGEST_WAIT after each failure,
# while a network with no failure for it, or where the user signed in lately, is let try.

# KEYS: the counters to count one failure on. ARGV: seconds after which a count is forgotten.
FAILED = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1e6
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', tostring(now))
  redis.call('EXPIRE', key, tonumber(ARGV[1]))
end
return 0
"""

# KEYS: the address's counter, then (for a user name) the pair's, the name's and the known mark.
# ARGV: free failures of the address and of a pair, the ceiling, first and longest wait.
# Returns the wait still to run in milliseconds, and the pair's count.
WAIT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1e6
local free_address, free_pair, ceiling = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first, longest = tonumber(ARGV[4]), tonumber(ARGV[5])
local function counted(key)
  local values = redis.call('HMGET', key, 'count', 'last')
  return tonumber(values[1] or '0'), tonumber(values[2] or '0')
end
local function wait_of(count, last, free)
  if count < free then return 0 end
  return last + math.min(longest, first * 2 ^ (count - free)) - now
end
local known = KEYS[4] ~= nil and redis.call('EXISTS', KEYS[4]) == 1
local wait = 0
if not known then
  local count, last = counted(KEYS[1])
  wait = wait_of(count, last, free_address)
end
local pair = 0
if KEYS[2] ~= nil then
  local count, last = counted(KEYS[2])
  pair = count
  local pair_wait = wait_of(count, last, free_pair)
  if not known and count > 0 and counted(KEYS[3]) >= ceiling then pair_wait = last + longest - now end
  if pair_wait > wait then wait = pair_wait end
end
return {math.ceil(wait * 1000), pair}
"""


class SignInThrottle:
    """Counts failed sign-ins per address network, per user name and network, and per user name;
    beyond a few, each further attempt must wait twice as long as the last (429 with Retry-After),
    whatever its credentials. Nobody elsewhere can lock a user out: failures for a name from other
    networks never stop the right password from a network that has not failed for it, nor from one
    where the user signed in lately. Shared through Redis when it is set and reachable, else counted
    in this process, in tables of at most `max_tracked` keys that forget the least recent first."""

    def __init__(self, shared: SharedState | None = None, *, max_tracked: int = MAX_TRACKED) -> None:
        self._shared = shared or SharedState(None)
        self._max_tracked = max_tracked
        self._failures: collections.OrderedDict[str, _Failures] = collections.OrderedDict()
        self._known: collections.OrderedDict[str, float] = collections.OrderedDict()  # key -> when marked

    async def check(self, network: str, user: str | None) -> int:
        """429 while the network, or the user name from it, must wait; else the failures counted
        for the pair (to be forgotten when the sign-in succeeds)."""
        keys = _keys(network, user)
        try:
            wait_ms, pair = await self._shared.run(
                lambda r: r.eval(
                    WAIT,
                    len(keys),
                    *_redis_keys(keys),
                    FREE_FAILURES["address"],
                    FREE_FAILURES["pair"],
                    USER_CEILING,
                    FIRST_WAIT,
                    LONGEST_WAIT,
                )
            )
            wait = wait_ms / 1000
        except Unavailable:
            wait, pair = self._wait_here(keys)
        if wait > 0:
            raise ChatError(catalogue.TOO_MANY_SIGN_IN_ATTEMPTS, retry_after=math.ceil(wait))
        return int(pair)

    async def failed(self, network: str, user: str | None) -> None:
        keys = _keys(network, user)[:3]
        try:
            await self._shared.run(lambda r: r.eval(FAILED, len(keys), *_redis_keys(keys), FORGET_AFTER))
        except Unavailable:
            self._failed_here(keys)

    async def signed_in(self, network: str, user: str, *, failures: int) -> None:
        """Remember the network as the user's for KNOWN_FOR, and forget the pair's failures."""
        _, pair, _, known = _keys(network, user)
        now = time.monotonic()
        marked = self._known.get(known)
        self._mark_known(known, now)
        if not failures and marked is not None and now - marked < FORGET_AFTER:
            return  # marked lately: no write for every request
        with contextlib.suppress(Unavailable):
            await self._shared.run(lambda r: _mark_known(r, *_redis_keys([known, pair])))
        self._failures.pop(pair, None)

    def _wait_here(self, keys: list[str]) -> tuple[float, int]:
        now = time.monotonic()
        known = len(keys) > 3 and self._is_known(keys[3], now)
        address = self._counted(keys[0], now)
        wait = 0.0 if known else _wait_of(address, FREE_FAILURES["address"], now)
        if len(keys) == 1:
            return wait, 0
        pair, user = self._counted(keys[1], now), self._counted(keys[2], now)
        pair_wait = _wait_of(pair, FREE_FAILURES["pair"], now)
        if not known and pair is not None and user is not None and user.count >= USER_CEILING:
            pair_wait = pair.last + LONGEST_WAIT - now
        return max(wait, pair_wait), pair.count if pair else 0

    def _counted(self, key: str, now: float) -> _Failures | None:
        failures = self._failures.get(key)
        return failures if failures is not None and now - failures.last <= FORGET_AFTER else None

    def _failed_here(self, keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            failures = self._counted(key, now) or _Failures(0, now)
            failures.count += 1
            failures.last = now
            self._failures[key] = failures
            self._failures.move_to_end(key)  # the least recently failed are forgotten first
        while len(self._failures) > self._max_tracked:
            self._failures.popitem(last=False)

    def _is_known(self, key: str, now: float) -> bool:
        marked = self._known.get(key)
        return marked is not None and now - marked <= KNOWN_FOR

    def _mark_known(self, key: str, now: float) -> None:
        self._known[key] = now
        self._known.move_to_end(key)
        while len(self._known) > self._max_tracked:
            self._known.popitem(last=False)


def _wait_of(failures: _Failures | None, free: int, now: float) -> float:
    if failures is None or failures.count < free:
        return 0.0
    return failures.last + min(LONGEST_WAIT, FIRST_WAIT * 2.0 ** (failures.count - free)) - now


async def _mark_known(r: redis.Redis, known: str, pair: str) -> None:
    async with r.pipeline(transaction=False) as pipe:
        pipe.set(known, 1, ex=round(KNOWN_FOR))
        pipe.delete(pair)
        await pipe.execute()


def _keys(network: str, user: str | None) -> list[str]:
    """The address's counter; for a user name also the pair's, the name's and the known mark. A
    network never holds `|`, so the first one ends it."""
    if user is None:
        return [f"address:{network}"]
    name = user[:USER_CAP]
    return [f"address:{network}", f"pair:{network}|{name}", f"user:{name}", f"known:{network}|{name}"]


def _redis_keys(keys: list[str]) -> list[str]:
    return [f"chat:sign-in:{key}" for key in keys]
