"""Usage kept in Redis (CHAT_REDIS_URL), so that every process counts into one account and any of
them can answer /api/usage. While Redis is unreachable, additions go to this process's own store
and answers add that in."""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

import redis.asyncio as redis

from chat.accounting.outcome import Tokens
from chat.accounting.usage import KEEP_DAYS, Count, MemoryUsageStore, Usage, UsageRow, utc_today
from chat.state.shared_state import SharedState, Unavailable

FIELDS = ("requests", "prompt_tokens", "completion_tokens", "reasoning_tokens")
SEPARATOR = "\x1f"  # between deployment, part and field in a hash field name; in no name we accept


class RedisUsageStore:
    """Per day: a hash per client (`deployment|all|field` -> count) and the set of the day's clients."""

    def __init__(self, shared: SharedState, today: Callable[[], datetime.date] = utc_today) -> None:
        self._shared = shared
        self._today = today
        self.here = MemoryUsageStore()  # what was counted while Redis was unreachable

    def add(self, day: datetime.date, client: str, deployment: str, tokens: Tokens) -> None:
        parts = ["all", "estimated"] if tokens.estimated else ["all"]
        values = (1, tokens.prompt, tokens.completion, tokens.reasoning)

        async def command(r: redis.Redis) -> None:
            expiry = datetime.timedelta(days=KEEP_DAYS + 1)
            async with r.pipeline(transaction=False) as pipe:
                for part in parts:
                    for field, value in zip(FIELDS, values, strict=True):
                        pipe.hincrby(_client_key(day, client), SEPARATOR.join((deployment, part, field)), value)
                pipe.expire(_client_key(day, client), expiry)
                pipe.sadd(_clients_key(day), client)
                pipe.expire(_clients_key(day), expiry)
                await pipe.execute()

        self._shared.spawn(command, lambda: self.here.add(day, client, deployment, tokens))

    async def for_client(self, client: str, since: datetime.date) -> list[UsageRow]:
        return await self._rows(since, lambda day: _fixed([client])) + await self.here.for_client(client, since)

    async def all(self, since: datetime.date) -> list[UsageRow]:
        async def clients_of(day: datetime.date) -> list[str]:
            members = await self._shared.run(lambda r: r.smembers(_clients_key(day)))
            return sorted(_text(member) for member in members)

        return await self._rows(since, clients_of) + await self.here.all(since)

    async def _rows(
        self, since: datetime.date, clients_of: Callable[[datetime.date], Awaitable[list[str]]]
    ) -> list[UsageRow]:
        rows: list[UsageRow] = []
        day = since
        try:
            while day <= self._today():
                clients = await clients_of(day)
                for client, fields in zip(clients, await self._hashes(day, clients), strict=True):
                    rows.extend(UsageRow(day, client, deployment, usage) for deployment, usage in _parsed(fields))
                day += datetime.timedelta(days=1)
        except Unavailable:
            return []  # only this process's own counts can be told now
        return rows

    async def _hashes(self, day: datetime.date, clients: list[str]) -> list[dict[bytes, bytes]]:
        async def command(r: redis.Redis) -> list[dict[bytes, bytes]]:
            async with r.pipeline(transaction=False) as pipe:
                for client in clients:
                    pipe.hgetall(_client_key(day, client))
                return list(await pipe.execute())

        return await self._shared.run(command)


async def _fixed(clients: list[str]) -> list[str]:
    return clients


def _parsed(fields: dict[bytes, bytes]) -> list[tuple[str, Usage]]:
    usages: dict[str, Usage] = {}
    for name, value in fields.items():
        deployment, part, field = name.decode().split(SEPARATOR)
        usage = usages.setdefault(deployment, Usage())
        count: Count = usage.all if part == "all" else usage.estimated
        setattr(count, field, getattr(count, field) + int(value))
    return sorted(usages.items())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _client_key(day: datetime.date, client: str) -> str:
    return f"chat:usage:{day.isoformat()}:{client}"


def _clients_key(day: datetime.date) -> str:
    return f"chat:usage:{day.isoformat()}:clients"
