"""Several worker processes under gunicorn, with the same run settings as `server.py`:

    gunicorn chat.run.gunicorn_app:app_runner --worker-class aiohttp.GunicornWebWorker --workers 2 --bind 127.0.0.1:8080

The server keeps no per-user state, so any worker (or machine) can answer any request.
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from chat.config.environment import read_environment, unknown_variables
from chat.config.settings import Settings, SettingsError
from chat.edge.descriptors import raise_open_file_limit
from chat.run.process import create_process_app, log_to_stderr, run_options
from chat.state.descriptor_budget import descriptor_warning


async def app_runner() -> web.AppRunner:
    """Called by aiohttp's gunicorn worker; an AppRunner (not a bare app) keeps handler cancellation on."""
    try:
        environment = read_environment()
        for warning in unknown_variables(environment):
            print(warning, file=sys.stderr, flush=True)  # from each worker
        settings = Settings.from_env(environment)
    except SettingsError as error:
        raise SystemExit(f"error: {error}") from None  # one line, not a worker-boot traceback
    log_to_stderr()  # gunicorn sets up its own loggers only: without this the answers' lines were lost
    raise_open_file_limit()  # each connection holds a file descriptor
    if too_few := descriptor_warning(settings.max_streams):
        logging.getLogger("chat").warning(too_few)  # from each worker: each has its own limit
    # As `server.py`: one line per answer and no access log (gunicorn's `--access-logfile` does not
    # reach a runner made here).
    return web.AppRunner(create_process_app(settings), **run_options(settings))
