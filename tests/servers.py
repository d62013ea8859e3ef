from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from chat.config.settings import settings_key
from chat.run.process import LISTEN_BACKLOG, run_options


@contextlib.asynccontextmanager
async def running_server(app: web.Application, **options: object) -> AsyncIterator[str]:
    """The app on a real loopback socket, run exactly as `server.py` runs it unless `options` say otherwise."""
    runner = web.AppRunner(app, **{**run_options(app[settings_key]), **options})
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=LISTEN_BACKLOG)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
