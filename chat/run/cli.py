"""The command line: `chat-server [--host H] [--port P]` (also `python -m chat`, `python server.py`);
settings come from the environment and a `.env` file in the working directory. `chat-server migrate`
brings the conversations' database to the current schema, and does nothing else."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from chat.access.control import exposure_warning
from chat.config.environment import read_environment, unknown_variables
from chat.config.settings import Settings, SettingsError
from chat.conversations.database import DatabaseUnavailable
from chat.conversations.store import ConversationStore, run_migrations
from chat.edge.descriptors import raise_open_file_limit
from chat.run.listen import cannot_listen, url
from chat.run.process import LISTEN_BACKLOG, create_process_app, log_to_stderr, run_options
from chat.state.descriptor_budget import descriptor_warning


def ready_line(settings: Settings) -> str:
    """What start-up says once it listens: where, and which model service answers."""
    if settings.simulated:
        source = "the built-in simulator (no AZURE_OPENAI_ENDPOINT)"
    else:  # from AZURE_OPENAI_ENDPOINT, OPENAI_BASE_URL or CHAT_ENDPOINTS_FILE
        # Each endpoint's host, as /healthz names it: a URL may hold a user:password@ or a key in its query.
        source = ", ".join(endpoint.host for endpoint in settings.endpoints)
    return f"chat server on {url(settings.host, settings.port)} answering from {source}"


def main(argv: list[str] | None = None) -> int:
    try:
        environment = read_environment()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=environment.get("HOST", "127.0.0.1"), help="address to listen on")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: $PORT or 8080)")
    parser.add_argument(
        "command", nargs="?", choices=("migrate",), help="migrate: run the database's migrations, then stop"
    )
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {"host": args.host}
    if args.port is not None:
        overrides["port"] = args.port
    for unknown in unknown_variables(environment):
        print(unknown, file=sys.stderr, flush=True)
    try:
        settings = Settings.from_env(environment, **overrides)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log_to_stderr()
    if args.command == "migrate" or ConversationStore(settings).enabled:
        # Before serving: a database that cannot be opened stops start-up with one line naming its setting.
        try:
            ran = asyncio.run(run_migrations(settings))
        except DatabaseUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.command == "migrate":
            print(f"migrations run: {', '.join(map(str, ran)) or 'none, the schema is current'}", flush=True)
            return 0
    before, after = raise_open_file_limit()  # each connection holds a file descriptor
    if after > before:
        logging.getLogger("chat").info("open-file limit raised from %d to %d", before, after)
    if too_few := descriptor_warning(settings.max_streams):
        logging.getLogger("chat").warning(too_few)
    if warning := exposure_warning(settings):
        print(warning, file=sys.stderr, flush=True)
    ready = ready_line(settings)
    try:
        web.run_app(
            create_process_app(settings),
            host=settings.host,
            port=settings.port,
            backlog=LISTEN_BACKLOG,
            print=lambda _: print(ready, flush=True),
            **run_options(settings),
        )
    except OSError as error:
        if (line := cannot_listen(error, settings.host, settings.port)) is None:
            raise
        print(line, file=sys.stderr)
        return 2
    return 0
