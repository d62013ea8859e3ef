"""Several worker processes under gunicorn, with the same run settings as `server.py`:

    gunicorn chat.gunicorn_app:app_runner --worker-class aiohttp.GunicornWebWorker --workers 2 --bind 127.0.0.1:8080

The server keeps no per-user state, so any worker (or machine) can answer any request.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .app import create_app, quieten_garbage_collector, run_options
from .settings import Settings, SettingsError, read_environment


async def app_runner() -> web.AppRunner:
    """Called by aiohttp's gunicorn worker; an AppRunner (not a bare app) keeps handler cancellation on."""
    try:
        settings = Settings.from_env(read_environment())
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None  # one line, not a worker-boot traceback
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    options = run_options(settings)
    options.pop("access_log")
    app = create_app(settings)
    quieten_garbage_collector()
    return web.AppRunner(app, **options)
