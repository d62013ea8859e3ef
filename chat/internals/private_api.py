"""Every use of a library's private names, each with the reason and what breaks without it.

tests/test_private_api.py checks each against the installed libraries, so that an upgrade that
moves one fails there, by name, instead of quietly turning a feature off.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import socket
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import httpx2
import openai
from aiohttp import web
from openai._models import FinalRequestOptions

# aiohttp -------------------------------------------------------------------------------------------


def on_server_made(app: web.Application, wrap: Callable[[web.Server], web.Server]) -> None:
    """Whenever a runner serves `app` itself (not as a sub-application), it serves the server `wrap`
    makes of aiohttp's.

    Every runner makes its server through `Application._make_handler`: `web.AppRunner._make_server`
    calls it, and `web.run_app`, the test server, aiohttp's gunicorn worker and an embedding host
    build their own `web.AppRunner`, so a subclass of it would be left out of all of them; aiohttp
    discourages subclassing `web.Application`. So the hook is on this app alone.
    """
    make_server = app._make_handler

    def make_wrapped_server(**options: Any) -> web.Server:
        return wrap(make_server(**options))

    app._make_handler = make_wrapped_server  # type: ignore[method-assign]


def connection_arguments(server: web.Server) -> tuple[asyncio.AbstractEventLoop, dict[str, Any]]:
    """The loop and the options `server` gives each `web.RequestHandler` it makes (keep-alive
    timeout, access log, debug...): what the runner asked for, which aiohttp keeps to itself."""
    return server._loop, dict(server._kwargs)


def request_in_progress(connection: web.RequestHandler) -> bool:
    """Whether the connection is reading or answering a request (aiohttp has no public flag)."""
    return connection._request_in_progress


# asyncio -------------------------------------------------------------------------------------------


class _ListeningSocket:
    """The listening socket as one wake-up of asyncio's accept loop sees it: after a shortage it
    reports an empty queue, so the loop stops there."""

    def __init__(self, sock: socket.socket, shortage: frozenset[int]) -> None:
        self.sock = sock
        self.shortage = shortage
        self.short = False

    def accept(self) -> tuple[socket.socket, Any]:
        if self.short:
            raise BlockingIOError
        try:
            return self.sock.accept()
        except OSError as error:
            self.short = error.errno in self.shortage
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _ProbeSocket:
    """A listening socket whose every `accept()` finds no descriptor, counting the calls."""

    def __init__(self, fileno: int) -> None:
        self.calls = 0
        self._fileno = fileno

    def accept(self) -> tuple[socket.socket, Any]:
        self.calls += 1
        raise OSError(errno.EMFILE, "out of file descriptors (a probe)")

    def fileno(self) -> int:
        return self._fileno


def accepts_in_one_wake_up(loop: asyncio.AbstractEventLoop, backlog: int = 4) -> int:
    """How often one wake-up of `loop`'s accept loop calls `accept()` when every call finds no
    descriptor. Only what asyncio does then happens too: an exception handler called, a retry
    scheduled (on a loop that should not run it)."""
    with socket.socket() as unregistered:
        probe = _ProbeSocket(unregistered.fileno())
        loop._accept_connection(lambda: asyncio.Protocol(), probe, backlog=backlog)  # type: ignore[attr-defined]
    return probe.calls


@functools.cache
def accept_loop_stops_at_shortage() -> bool:
    """Whether asyncio's selector loop ends a wake-up at the first `accept()` that finds no
    descriptor (python/cpython#151615, fixed in later releases).

    Asked of asyncio itself, on a loop of its own, rather than of the version number: which releases
    carry the fix was not to be found, and a backport would make a version check wrong.
    """
    loop = asyncio.SelectorEventLoop()
    loop.set_exception_handler(lambda loop, context: None)
    try:
        return accepts_in_one_wake_up(loop) == 1
    finally:
        loop.close()


@contextlib.contextmanager
def accept_stops_at_shortage(loop: asyncio.AbstractEventLoop, shortage: frozenset[int]) -> Iterator[None]:
    """While inside: one wake-up of `loop`'s accept loop ends at the first `accept()` failing with an
    errno of `shortage`, as asyncio with python/cpython#151615 fixed does on its own.

    Before that fix asyncio went on calling `accept()` up to `backlog` times per wake-up, each failure
    calling the exception handler and scheduling another retry. Only selector loops have the loop;
    others (uvloop, Windows' proactor) are left as they are.
    """
    accept_connection = getattr(loop, "_accept_connection", None)
    if accept_connection is None or accept_loop_stops_at_shortage():
        yield
        return

    def accept_until_short(protocol_factory: Any, sock: Any, *args: Any, **kwargs: Any) -> Any:
        # asyncio passes the socket it was given on to its own retry: unwrap that one.
        listening = _ListeningSocket(sock.sock if isinstance(sock, _ListeningSocket) else sock, shortage)
        try:
            return accept_connection(protocol_factory, listening, *args, **kwargs)
        finally:
            listening.short = False  # asyncio's retry accepts through it as usual

    loop._accept_connection = accept_until_short  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del loop._accept_connection  # type: ignore[attr-defined]


# httpx2 and the openai SDK -------------------------------------------------------------------------


def aiohttp_response_of(response: httpx2.Response) -> aiohttp.ClientResponse | None:
    """The aiohttp response under an httpx2 response of the SDK's aiohttp transport, if it is one:
    reading it straight skips httpx2's stream, decoder and chunker layers on every read."""
    stream = getattr(response.stream, "_stream", response.stream)  # inside httpx2's BoundAsyncStream
    raw = getattr(stream, "_aiohttp_response", None)  # the SDK's vendored httpx_aiohttp stream
    return raw if isinstance(raw, aiohttp.ClientResponse) else None


def keep_only_headers(response: httpx2.Response, kept: frozenset[str]) -> None:
    """Keep, of an open streaming response, only the headers named in `kept` (lower case), in
    httpx2's response, and none in aiohttp's under it nor of the request.

    The SDK's transport keeps the response headers three times over (aiohttp's raw pairs, its
    CIMultiDict, and httpx2's copy) and aiohttp's `request_info` keeps every request header: for an
    answer that streams for minutes, a few kilobytes per open stream that nothing reads again (the
    stream reads httpx2's headers; aiohttp's are read only to decode a body read whole, which a
    stream never is). aiohttp has no public way to drop them; `_raw_headers`, `_headers` and
    `_request_info` are what its `raw_headers`, `headers` and `request_info` properties read, and
    `_cache` where they keep it. One empty mapping, read-only, serves every response.
    """
    response.headers = httpx2.Headers([pair for pair in response.headers.multi_items() if pair[0].lower() in kept])
    raw = aiohttp_response_of(response)
    if raw is not None:
        drop_headers(raw)


_EMPTY_HEADERS: dict[type[Any], Any] = {}


def _no_headers(headers: Any) -> Any:
    """An empty read-only headers mapping of aiohttp's own type (multidict's, not imported here)."""
    kind = type(headers)
    if kind not in _EMPTY_HEADERS:
        _EMPTY_HEADERS[kind] = kind(type(headers.copy())())
    return _EMPTY_HEADERS[kind]


def end_read_timer(response: httpx2.Response) -> None:
    """Stop the transport's own read timeout for the rest of an open streaming response.

    aiohttp's `sock_read` timer is cancelled and scheduled again on every read: a timer per open
    stream and a new one per chunk. Once the answer has begun the stream keeps its own first-token
    and stall deadlines (chat/upstream/stream.py), so this one only repeats them. The protocol's
    `read_timeout` and `start_timeout()` are public on aiohttp's `ResponseHandler`, which is not;
    the next request on the same connection sets its timeout afresh.
    """
    raw = aiohttp_response_of(response)
    if raw is not None:
        stop_read_timer(raw)


def stop_read_timer(raw: aiohttp.ClientResponse) -> None:
    """`end_read_timer` of an aiohttp response itself (ours: chat/upstream/direct_post.py)."""
    connection = raw.connection
    protocol = connection.protocol if connection is not None else None
    if protocol is not None:
        protocol.read_timeout = None
        protocol.start_timeout()


def drop_headers(raw: aiohttp.ClientResponse) -> None:
    """Of an open streaming aiohttp response, keep no header and no request header (see
    `keep_only_headers`)."""
    for cached in ("headers", "raw_headers", "request_info"):  # properties that keep what they read
        raw._cache.pop(cached, None)
    none = _no_headers(raw._headers)
    raw._raw_headers = ()
    raw._headers = none
    info = raw._request_info
    raw._request_info = aiohttp.RequestInfo(info.url, info.method, none, info.real_url)


# openai --------------------------------------------------------------------------------------------


async def sdk_request_target(client: openai.AsyncOpenAI, path: str, model: str) -> tuple[str, dict[str, str]]:
    """The URL and headers the SDK sends a POST of `path` with, for a body naming `model`: its key,
    its API version, its deployment path (Azure), its own headers. `_prepare_options` is where the
    Azure client adds the key, `_build_request` where every client builds the rest; neither is public.
    """
    options = FinalRequestOptions.construct(method="post", url=path, json_data={"model": model})
    request = client._build_request(await client._prepare_options(options))
    headers = {name: value for name, value in request.headers.items() if name.lower() not in _SET_PER_REQUEST}
    return str(request.url), headers


# Set by aiohttp for each body, or by the SDK for each of its attempts.
_SET_PER_REQUEST = frozenset({"content-length", "x-stainless-retry-count", "x-stainless-read-timeout"})


def sdk_status_error(client: openai.AsyncOpenAI, response: httpx2.Response) -> openai.APIStatusError:
    """The SDK's typed error (RateLimitError for a 429, and so on) for a refusal, as its own
    requests raise it: `_make_status_error_from_response` reads the body as the SDK does."""
    return client._make_status_error_from_response(response)
