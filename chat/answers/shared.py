"""Resumable answers across processes, through Redis (CHAT_REDIS_URL): a reconnect may reach any
process, and a Stop sent to any process reaches the one that runs the answer.

The events go to a Redis Stream per answer (`XADD` with the event's number as its id, `0-n`), not
to pub/sub with a replay list: `XREAD BLOCK` from `0-n` is the replay and the live follow in one
command, so a reader that comes back gets exactly the events after the last it saw, with no gap
between reading the list and subscribing, and no message lost while its connection is busy. The
owning process writes each answer's new events in one pipelined transaction as they come (a slow
Redis makes the batches larger, not the relay slower), sets the keys' TTL to the resume window
once the answer ends, and holds a lease (`...:owner`, two thirds of CHAT_STREAM_LEASE_SECONDS,
renewed every third) that a reader elsewhere checks whenever the stream is silent: an owner that
died is told as `upstream_unavailable` within the lease time, never as a hang.

A Stop is a pub/sub message on the owner's own channel (delivered at once, and fire-and-forget:
a dead owner has no upstream left to close). Readers in other processes keep a sighting
(`...:seen`, the time of their last read) that the owner looks at before it gives up an answer
at the end of its resume window.

Keys, each with a TTL: `chat:answer:{id}` (the client, the secret's digest, the owner),
`chat:answer:{id}:events` (the stream), `chat:answer:{id}:owner`, `chat:answer:{id}:seen`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
import typing
import uuid
from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

from chat.answers.log import TERMINAL, numbered_frame
from chat.answers.running import ABANDONED, LEAVING, STOPPED, ResumableAnswer
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.relay.sse import SseResponse, frame
from chat.state.shared_state import RETRY_AFTER, TIMEOUT, SharedState, Unavailable

PREFIX = "chat:answer:"
STOP_CHANNEL = "chat:answers:stop:"
READ_COUNT = 1000  # events per XREAD
MAX_READERS_WAITING = 10_000  # connections of the blocking pool: one per reader of another process's answer


def _keys(answer_id: str) -> tuple[str, str, str, str]:
    base = PREFIX + answer_id
    return base, base + ":events", base + ":owner", base + ":seen"


@dataclasses.dataclass(frozen=True, slots=True)
class SharedAnswer:
    """An answer as Redis knows it: whose, and which process runs it (None: ended, or its owner died)."""

    client: str
    secret_digest: bytes
    owner: str | None


class SharedAnswers:
    def __init__(self, shared: SharedState, settings: Settings, local: Callable[[str], ResumableAnswer | None]) -> None:
        self._shared = shared
        self._local = local
        self._window_ms = round(settings.resume_window * 1000)
        lease_ms = round(settings.stream_lease_seconds * 1000)
        self._renew_every = lease_ms / 3000
        self._owner_ms = max(2 * lease_ms // 3, 200)
        self._alive_ms = self._window_ms + 2 * lease_ms  # the keys of a running answer
        self._block_ms = max(lease_ms // 4, 50)  # a reader elsewhere checks the owner this often when silent
        self.process = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # XREAD BLOCK and the subscription wait longer than the shared pool's command timeout.
        pool = redis.BlockingConnectionPool.from_url(
            shared.url or "",
            max_connections=MAX_READERS_WAITING,
            timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            socket_timeout=None,
            health_check_interval=30,
        )
        self._waiting = redis.Redis.from_pool(pool)
        self._mirrored: dict[str, ResumableAnswer] = {}
        self._written: dict[str, int] = {}  # events in Redis, per answer
        self._writing: dict[str, asyncio.Task[None]] = {}
        self._checks: set[asyncio.Task[None]] = set()
        self._subscribed = asyncio.Event()

    # The owner's side.

    async def announce(self, answer: ResumableAnswer) -> None:
        """The answer in Redis before its id is told to anyone; without Redis it stays this process's."""
        meta, _, owner, _ = _keys(answer.id)

        async def write(r: redis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                fields = {"client": answer.client, "secret": answer.secret_digest, "owner": self.process}
                pipe.hset(meta, mapping=fields)  # type: ignore[arg-type]
                pipe.pexpire(meta, self._alive_ms)
                pipe.set(owner, self.process, px=self._owner_ms)
                await pipe.execute()

        try:
            await self._shared.run(write)
        except Unavailable:
            return
        self._mirrored[answer.id] = answer
        answer.log.on_append = lambda: self._write_soon_quietly(answer)
        answer.on_window_expired = self._window_expired

    def _write_soon_quietly(self, answer: ResumableAnswer) -> None:
        self._write_soon(answer)

    def _write_soon(self, answer: ResumableAnswer) -> asyncio.Task[None] | None:
        task = self._writing.get(answer.id)
        if task is None and answer.id in self._mirrored:
            task = self._writing[answer.id] = asyncio.create_task(self._write(answer))
        return task

    async def _write(self, answer: ResumableAnswer) -> None:
        """Every event not yet in Redis, in one transaction per round; rounds until none is left."""
        meta, events, owner, seen = _keys(answer.id)
        try:
            while entries := answer.log.entries(self._written.get(answer.id, 0)):
                last = entries[-1][0]
                ended = answer.log.finished and last == len(answer.log)

                async def write(r: redis.Redis) -> None:
                    async with r.pipeline(transaction=True) as pipe:
                        for number, event, data in entries:
                            pipe.xadd(events, {"e": event, "d": data}, id=f"0-{number}")
                        if ended:  # noqa: B023
                            for key in (meta, events, seen):
                                pipe.pexpire(key, self._window_ms)
                            pipe.delete(owner)
                        else:
                            pipe.pexpire(events, self._alive_ms)
                        await pipe.execute()

                try:
                    await self._shared.run(write)
                except Unavailable:
                    return  # readers here still have every event; elsewhere they see the owner's lease lapse
                self._written[answer.id] = last
        finally:
            self._writing.pop(answer.id, None)

    async def settle(self, answer: ResumableAnswer, *, kept: bool) -> None:
        """The answer has ended: its last event in Redis (for the window), or the answer dropped."""
        if answer.id not in self._mirrored:
            return
        if (task := self._write_soon(answer)) is not None:
            await task
        del self._mirrored[answer.id]
        self._written.pop(answer.id, None)
        if not kept:
            with contextlib.suppress(Unavailable):
                await self._shared.run(lambda r: r.delete(*_keys(answer.id)))

    async def renew(self) -> None:
        """The leases and TTLs of this process's running answers (for the app's lifetime)."""
        while True:
            await asyncio.sleep(self._renew_every)
            running = [answer_id for answer_id, answer in self._mirrored.items() if answer.running]
            if not running:
                continue

            async def renew(r: redis.Redis) -> None:
                async with r.pipeline(transaction=False) as pipe:
                    for answer_id in running:  # noqa: B023
                        meta, events, owner, _ = _keys(answer_id)
                        pipe.pexpire(owner, self._owner_ms)
                        pipe.pexpire(meta, self._alive_ms)
                        pipe.pexpire(events, self._alive_ms)
                    await pipe.execute()

            with contextlib.suppress(Unavailable):
                await self._shared.run(renew)

    def _window_expired(self, answer: ResumableAnswer) -> None:
        """No reader here for the window: unless one elsewhere has read it since, the answer ends."""

        async def check() -> None:
            try:
                seen = await self._shared.run(lambda r: r.get(_keys(answer.id)[3]))
            except Unavailable:
                seen = None
            if answer.window.readers or not answer.running:
                return
            if seen is not None:
                wait_ms = int(seen) + self._window_ms - time.time() * 1000
                if wait_ms > 0:
                    answer.window.start(max(wait_ms, self._block_ms) / 1000)
                    return
            answer.end(ABANDONED)

        task = asyncio.create_task(check())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def listen_for_stops(self) -> None:
        """Stops sent to this process by the others (for the app's lifetime)."""
        channel = STOP_CHANNEL + self.process
        while True:
            pubsub = self._waiting.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    how, _, answer_id = message["data"].decode().partition(":")
                    if how in (STOPPED, LEAVING) and (answer := self._local(answer_id)):
                        answer.end(how)
            except (RedisError, OSError):
                await asyncio.sleep(RETRY_AFTER)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribed(self) -> None:
        """Once stops can reach this process (bounded: a Redis away at start is tried again later)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), TIMEOUT * 4)

    async def close(self) -> None:
        for task in list(self._checks):
            task.cancel()
        await self._waiting.aclose()

    # Any process's side.

    async def lookup(self, answer_id: str) -> SharedAnswer | None:
        meta, _, owner, _ = _keys(answer_id)

        async def read(r: redis.Redis) -> tuple[list[bytes | None], bytes | None]:
            async with r.pipeline(transaction=False) as pipe:
                pipe.hmget(meta, ["client", "secret"])
                pipe.get(owner)
                fields, running = await pipe.execute()
            return fields, running

        try:
            (client, secret), running = await self._shared.run(read)
        except Unavailable:
            return None
        if client is None or secret is None:
            return None
        return SharedAnswer(client.decode(), secret, running.decode() if running else None)

    async def request_stop(self, answer_id: str, owner: str, how: str = STOPPED) -> None:
        with contextlib.suppress(Unavailable):
            await self._shared.run(lambda r: r.publish(STOP_CHANNEL + owner, f"{how}:{answer_id}"))

    async def follow(self, answer_id: str, after: int, sse: SseResponse) -> None:
        """The events after `after`, then the answer live, read from Redis; `upstream_unavailable` if
        its owner dies first. A client that leaves or a Redis that fails ends the stream (the page
        comes back)."""
        _, events, owner, seen = _keys(answer_id)
        last = after
        sighted = 0.0
        try:
            while True:
                now = time.monotonic()
                if now - sighted >= self._block_ms / 1000:
                    sighted = now
                    await self._sighted(seen)
                reply = await self._read(events, last, self._block_ms)
                if not reply:
                    running = await self._shared.run(lambda r: r.exists(owner))
                    if running:
                        continue
                    reply = await self._read(events, last, None)  # the end, written as the lease was dropped
                    if not reply:
                        await sse.send(frame("error", ChatError(catalogue.ANSWER_OWNER_LOST).payload()))
                        return
                chunks = []
                ended = False
                for entry_id, fields in reply:
                    last = int(entry_id.rpartition(b"-")[2])
                    chunks.append(numbered_frame(last, fields[b"e"], fields[b"d"]))
                    ended = fields[b"e"].decode() in TERMINAL
                await sse.send(b"".join(chunks))
                if ended:
                    return
        except (ConnectionError, Unavailable, RedisError, OSError, TimeoutError):
            return
        finally:
            with contextlib.suppress(Unavailable):
                await asyncio.shield(self._sighted(seen))

    async def _read(self, events: str, last: int, block_ms: int | None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        async with asyncio.timeout((block_ms or 0) / 1000 + TIMEOUT * 4):
            reply: typing.Any = await self._waiting.xread({events: f"0-{last}"}, count=READ_COUNT, block=block_ms)
        return typing.cast(list[tuple[bytes, dict[bytes, bytes]]], reply[0][1]) if reply else []

    async def _sighted(self, seen: str) -> None:
        now_ms = round(time.time() * 1000)
        await self._shared.run(lambda r: r.set(seen, now_ms, px=self._alive_ms))
