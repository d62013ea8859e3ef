"""What daily quotas keep: their Redis keys and scripts, a request's reservation, a client's state,
and the refusal a client is told."""

from __future__ import annotations

import dataclasses
import datetime
import math

from chat.errors import catalogue
from chat.errors.chat_error import ChatError

RESERVED_RETRY_AFTER = 5  # seconds: answers in progress end and give back what they did not use

# Atomically: forget lapsed reservations, then reserve if the client's quota allows.
# KEYS: the day's count, the day's reservations (a sorted set of `id:tokens` by expiry in ms).
# ARGV: reservation id, tokens, quota, ttl in ms, the count last read here, counted here, reserved here.
# Returns {0 or 1 (refused), count in Redis, tokens reserved in Redis}.
RESERVE = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(member, ':(%d+)$'))
end
local used = math.max(stored, tonumber(ARGV[5])) + tonumber(ARGV[6])
local others = reserved + tonumber(ARGV[7])
local amount, quota = tonumber(ARGV[2]), tonumber(ARGV[3])
if used >= quota or (others > 0 and used + others + amount > quota) then return {1, stored, reserved} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1] .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) * 2)
return {0, stored, reserved}
"""

# KEYS: the day's reservations. ARGV: ttl in ms, then this process's reservations to extend.
RENEW = """
local time = redis.call('TIME')
local expiry = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 0
"""


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaState:
    limit: int
    used: int
    resets_at: datetime.datetime
    reserved: int = 0  # by answers in progress, until they end

    @property
    def exceeded(self) -> bool:
        return self.used >= self.limit

    def as_dict(self) -> dict[str, object]:
        return {
            "limit": self.limit,
            "used": self.used,
            "reserved": self.reserved,
            "resets_at": self.resets_at.isoformat(),
        }


@dataclasses.dataclass(slots=True)
class Reservation:
    """What one request holds of its client's quota from admission until it ends."""

    day: datetime.date
    client: str
    tokens: int
    member: str | None  # in Redis's sorted set; None: held in this process
    settled: bool = False  # its answer's cost is counted (before the client is told the end)


def over_quota(used: int, others: int, tokens: int, limit: int) -> bool:
    return used >= limit or (others > 0 and used + others + tokens > limit)


def refusal(limit: int, used: int, resets_at: datetime.datetime) -> ChatError:
    if used < limit:  # the answers in progress may take the rest
        return ChatError(catalogue.QUOTA_RESERVED, limit=limit, retry_after=RESERVED_RETRY_AFTER)
    wait = resets_at - datetime.datetime.now(datetime.UTC)
    seconds = max(1, math.ceil(wait.total_seconds()))
    return ChatError(
        catalogue.QUOTA_EXCEEDED, limit=limit, resets_at=resets_at, wait=duration(seconds), retry_after=seconds
    )


def count_key(day: datetime.date, client: str) -> str:
    return f"chat:quota:{day.isoformat()}:{client}"


def reserved_key(day: datetime.date, client: str) -> str:
    return f"chat:quota-reserved:{day.isoformat()}:{client}"


def duration(seconds: int) -> str:
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
