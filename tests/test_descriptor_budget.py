"""Streams admitted only while descriptors remain for both their sockets; a connect to the model
service that finds none told 503 `server_busy` at once, with one log line, not a 500."""

from __future__ import annotations

import contextlib
import logging
import resource
import sys
import time
from collections.abc import Iterator
from typing import IO

import pytest

from chat import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.descriptor_budget import (
    SPARE,
    ShortageLog,
    descriptor_warning,
    descriptors_in_use,
    streams_that_fit,
)
from chat.state.open_streams import OpenStreams

from .sse_client import chat_body, read_events, text_of
from .typedefs import ClientFactory

HEADROOM = 24  # descriptors left free while the test runs, then taken


@contextlib.contextmanager
def no_descriptor_left() -> Iterator[None]:
    """This process out of file descriptors while inside: the soft limit lowered to just above those
    open, and the rest taken by files."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[IO[bytes]] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors_in_use() + HEADROOM, before[1]))
    try:
        with contextlib.suppress(OSError):
            while True:
                held.append(open("/dev/null", "rb"))  # noqa: SIM115 - closed below
        yield
    finally:
        for file in held:
            file.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_streams_that_fit_leave_two_descriptors_each_and_a_spare() -> None:
    assert streams_that_fit(20_000, 10) == (20_000 - 10 - SPARE) // 2
    assert streams_that_fit(100, 50) == 0
    assert streams_that_fit(resource.RLIM_INFINITY, 10) is None


def test_the_start_up_warning_names_the_setting_when_the_limit_is_too_low() -> None:
    warning = descriptor_warning(1000, limit=1024, in_use=10)
    assert warning is not None
    assert warning.startswith("CHAT_MAX_STREAMS=1,000 needs 2,074 file descriptors")
    assert "the open-file limit is 1,024: beyond 475 open streams, chats get 503 server_busy" in warning
    assert "\n" not in warning
    assert descriptor_warning(475, limit=1024, in_use=10) is None


async def test_a_stream_beyond_the_descriptors_is_refused_503_until_one_ends(settings: Settings) -> None:
    streams = OpenStreams(settings, fitting=1)
    async with streams.admit("ada"):
        with pytest.raises(ChatError) as refused:
            async with streams.admit("bob"):
                pass
        assert (refused.value.status, refused.value.code, refused.value.retry_after) == (503, "server_busy", 5)
        assert refused.value.headers == {"Retry-After": "5"}
    async with streams.admit("bob"):
        assert len(streams) == 1


def test_repeated_shortages_make_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    shortages = ShortageLog(60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "chat.descriptors"):
        for second in (0, 1, 2, 59):
            now[0] = second
            shortages.shortage()
        assert len(caplog.records) == 1
        now[0] = 61
        shortages.shortage()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "no file descriptor left to connect to the model service" in lines[0]
    assert "(3 more since the last line)" in lines[1]


@pytest.mark.skipif(sys.platform != "linux", reason="lowers the open-file limit and takes what is left")
async def test_a_connect_without_a_descriptor_is_server_busy_at_once(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(max_retries=2)  # the SDK's retries would wait half a second and more
    assert (await client.get("/healthz")).status == 200  # the connection the chat reuses
    with caplog.at_level(logging.INFO), no_descriptor_left():
        started = time.monotonic()
        refused = [await client.post("/api/chat", json=chat_body()) for _ in range(2)]
        bodies = [await response.json() for response in refused]
        elapsed = time.monotonic() - started
    assert [response.status for response in refused] == [503, 503]
    assert [body["error"]["code"] for body in bodies] == ["server_busy"] * 2
    assert bodies[0]["error"]["message"] == catalogue.SERVER_OUT_OF_DESCRIPTORS.template
    assert refused[0].headers["Retry-After"] == "5"
    assert elapsed < 0.3, elapsed
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]
    events, _ = await read_events(await client.post("/api/chat", json=chat_body("again")))
    assert text_of(events).startswith("You asked: *again*")
