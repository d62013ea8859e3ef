"""The application factory, shared by `server.py`, the tests, the benchmarks and embedding hosts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from .access import access_control
from .headers import add_security_headers
from .keys import limits_key, open_streams_key, settings_key, simulator_key, upstream_client_key
from .limits import ClientLimits
from .relay import OpenStreams
from .routes import WEB_DIR, setup_routes
from .settings import Settings
from .simulator import Simulator
from .upstream import create_client

log = logging.getLogger("chat")


def run_options(settings: Settings) -> dict[str, Any]:
    """How the server must run: the tests start it with these too, not only `server.py`.

    Without handler cancellation aiohttp notices a vanished client only at its next write,
    which can be seconds away while the upstream is silent, and the upstream keeps generating.
    """
    return {"handler_cancellation": True, "shutdown_timeout": settings.shutdown_timeout, "access_log": None}


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[access_control])
    app[settings_key] = settings
    app[open_streams_key] = OpenStreams()
    app[limits_key] = ClientLimits(settings)
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True)
    app.cleanup_ctx.append(upstream_context)
    app.on_shutdown.append(end_open_streams)
    app.on_response_prepare.append(add_security_headers)
    setup_routes(app)
    return app


async def upstream_context(app: web.Application) -> AsyncIterator[None]:
    """Open the model-service client (and the built-in simulator when no endpoint is set)."""
    settings = app[settings_key]
    runner = None
    if settings.azure_endpoint is None:
        simulator = Simulator(token_delay=settings.simulator_token_delay,
                              first_token_delay=settings.simulator_first_token_delay)
        runner = web.AppRunner(simulator.app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        app[simulator_key] = simulator
        endpoint, api_key = f"http://127.0.0.1:{port}", simulator.api_key
        log.info("no AZURE_OPENAI_ENDPOINT set: answers come from the built-in simulator")
    else:
        endpoint, api_key = settings.azure_endpoint, settings.azure_api_key
    client = create_client(settings, endpoint, api_key)
    app[upstream_client_key] = client
    try:
        yield
    finally:
        await client.close()
        if runner is not None:
            await runner.cleanup()


async def end_open_streams(app: web.Application) -> None:
    app[open_streams_key].close_all()
