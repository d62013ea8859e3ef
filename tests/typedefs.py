"""The types of the shared fixtures, for the tests' annotations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
# make_client(**changes): a client of the app built from the `settings` fixture with those fields changed.
ClientFactory = Callable[..., Awaitable[Client]]
# start_up(*args, cwd=None, **env): `python server.py ARGS` run in this process: exit code, stdout, stderr.
StartUp = Callable[..., tuple[int, str, str]]
