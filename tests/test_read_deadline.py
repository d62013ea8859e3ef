"""One timer per upstream stream for its first-token and stall deadlines (chat/upstream/deadline.py)."""

from __future__ import annotations

import asyncio

import pytest

from chat.upstream.deadline import ReadDeadline


async def read(deadline: ReadDeadline, arrives: asyncio.Future[bytes]) -> bytes:
    """One read as the stream makes it: a deadline's cancellation becomes TimeoutError."""
    deadline.begin()
    try:
        data = await arrives
    except asyncio.CancelledError:
        if deadline.expired():
            raise TimeoutError from None
        raise
    deadline.end()
    return data


async def test_a_wait_over_the_limit_times_out_and_the_task_is_not_left_cancelled() -> None:
    with ReadDeadline(0.05) as deadline:
        with pytest.raises(TimeoutError):
            await read(deadline, asyncio.get_running_loop().create_future())
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # a leftover cancellation would land here


async def test_time_between_reads_does_not_count() -> None:
    loop = asyncio.get_running_loop()
    # Each wait far under the limit, so that a busy machine's late timers cannot make it one.
    with ReadDeadline(0.3) as deadline:
        for _ in range(3):
            arrives = loop.create_future()
            loop.call_soon(arrives.set_result, b"data")
            assert await read(deadline, arrives) == b"data"
            await asyncio.sleep(0.35)  # writing to a slow client: longer than the limit, not a stall


async def test_a_shorter_limit_applies_to_the_next_wait_at_once() -> None:
    with ReadDeadline(60) as deadline:
        deadline.shorten(0.05)
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await read(deadline, asyncio.get_running_loop().create_future())
        assert asyncio.get_running_loop().time() - started < 5


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def reader() -> bytes:
        with ReadDeadline(60) as deadline:
            return await read(deadline, asyncio.get_running_loop().create_future())

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_leaving_the_block_stops_the_timer() -> None:
    with ReadDeadline(0.02) as deadline:
        deadline.begin()  # a wait that is never ended: the block is left (the stream closed)
    await asyncio.sleep(0.06)  # the timer would cancel this test's task here
