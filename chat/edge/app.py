"""The application factory, shared by `server.py`, the tests, the benchmarks and embedding hosts."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from .access import access_control
from .access_state import AccessState
from .connections import serve_chat_connections
from .descriptors import shortage_handled
from .endpoints import EndpointConfig
from .entra import entra_token_provider
from .headers import add_security_headers, security_headers
from .keys import (
    access_state_key,
    connections_key,
    default_preset_key,
    metrics_key,
    observers_key,
    open_streams_key,
    quota_key,
    settings_key,
    shared_state_key,
    token_provider_key,
    upstream_key,
    usage_key,
)
from .limits import OpenStreams
from .metrics import ChatMetrics
from .quota import DailyQuota
from .routes import WEB_DIR, setup_routes
from .settings import REASONING_API_VERSION, SIMULATOR_MODELS, Settings, SettingsError
from .shared_state import SharedState
from .sign_in import SignInThrottle
from .simulator import Simulator
from .upstream import Endpoint, EndpointPool, TokenProvider, Upstream, create_client
from .usage import MemoryUsageStore, UsageAccounting
from .usage_redis import RedisUsageStore

log = logging.getLogger("chat")


# Connections waiting to be accepted. aiohttp's default of 128 overflows when hundreds of browsers
# connect at once, and each dropped SYN costs its client a one-second retransmission.
LISTEN_BACKLOG = 2048
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)


def run_options(settings: Settings) -> dict[str, Any]:
    """How the server must run: the tests start it with these too, not only `server.py`.

    Without handler cancellation aiohttp notices a vanished client only at its next write,
    which can be seconds away while the upstream is silent, and the upstream keeps generating.
    """
    return {
        "handler_cancellation": True,
        "shutdown_timeout": settings.shutdown_timeout,
        # Idle connections (between requests, or never sending one) hold a descriptor each; aiohttp's
        # default keeps them an hour (75 s under `web.run_app`).
        "keepalive_timeout": settings.keepalive_timeout,
        "access_log": None,
    }


def create_process_app(settings: Settings) -> web.Application:
    """The app for a process that is all chat server (`server.py`, gunicorn workers), with the
    process-wide tuning an embedding host would not want imposed on it."""
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per chat is ours to write
    app = create_app(settings)
    app.cleanup_ctx.append(descriptor_shortage_context)
    quieten_garbage_collector()
    return_freed_memory()
    return app


async def descriptor_shortage_context(app: web.Application) -> AsyncIterator[None]:
    """Process-wide, so only for `create_process_app`: the event loop's handling of a shortage of
    file descriptors (chat/descriptors.py), shedding this app's idle connections."""
    with shortage_handled(asyncio.get_running_loop(), app[connections_key].shed_idle):
        yield


def return_freed_memory() -> None:
    """Process-wide, so only for `create_process_app`.

    A request at the limits (a 200,000-character conversation) needs about 2.4 MiB while it is read
    and sent upstream (its bytes, its text, the SDK's copy), all freed once its answer begins. After
    the first such block is freed, glibc serves blocks of that size from its heap (its mmap threshold
    adapts upwards), and the heap seldom shrinks: measured, 100 of them at once left 1.4 MiB of RSS
    per open stream whose live objects were 100 KiB. A fixed threshold keeps every block of 128 KiB
    or more in a mapping of its own, given back when freed.
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc: its own allocator's ways apply
        return
    mallopt(M_MMAP_THRESHOLD, 128 * 1024)


def quieten_garbage_collector() -> None:
    """Process-wide, so only for `create_process_app`.

    A full collection walks every object of every open stream; with a thousand streams that is a
    pause of 100 ms or more, felt by every reader at once. A larger first threshold makes them rare
    (measured: none in a run of 1,000 streams instead of 8, up to 187 ms each), and the objects
    of start-up are frozen out of them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def create_app(
    settings: Settings, *, token_provider: TokenProvider | None = None, preset: str | None = None
) -> web.Application:
    """The chat application; `token_provider` lets a host supply its own Entra ID tokens, and `preset`
    names the preset (of CHAT_PRESETS_FILE) its pages and requests use unless they name another."""
    if token_provider is None:
        settings.check_entra_support()
    preset = preset or settings.default_preset
    if preset is not None and preset not in settings.presets.presets:
        raise SettingsError(f"create_app: preset {preset!r} is not a preset of CHAT_PRESETS_FILE")
    app = web.Application(middlewares=[access_control])
    app[settings_key] = settings
    if preset is not None:
        app[default_preset_key] = preset
    if token_provider is not None:
        app[token_provider_key] = token_provider
    app[shared_state_key] = shared = SharedState(settings.redis_url)
    app[open_streams_key] = OpenStreams(settings, shared)
    app[access_state_key] = AccessState(throttle=SignInThrottle(shared))
    app[observers_key] = []
    # Told of each chat request as it ends: usage accounting, and the metrics unless turned off.
    app[usage_key] = UsageAccounting(RedisUsageStore(shared) if shared.enabled else MemoryUsageStore())
    app[observers_key].append(app[usage_key])
    app[quota_key] = DailyQuota(settings, shared)
    if app[quota_key].enabled:
        app[observers_key].append(app[quota_key])
    if settings.metrics:
        app[metrics_key] = ChatMetrics(settings)
        app[observers_key].append(app[metrics_key])
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True)
    app.cleanup_ctx.append(shared_state_context)
    app.cleanup_ctx.append(upstream_context)
    app.on_shutdown.append(end_open_streams)
    app.on_response_prepare.append(add_security_headers)
    app[connections_key] = serve_chat_connections(app, security_headers(settings.frame_ancestors))
    setup_routes(app)
    return app


async def shared_state_context(app: web.Application) -> AsyncIterator[None]:
    """Renew this process's stream leases in Redis while it runs; close the connections at the end."""
    renewing = asyncio.create_task(app[open_streams_key].renew_leases()) if app[shared_state_key].enabled else None
    try:
        yield
    finally:
        if renewing is not None:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        await app[shared_state_key].close()


async def upstream_context(app: web.Application) -> AsyncIterator[None]:
    """Open the model-service client, and what it needs: the built-in simulator, an Entra ID credential."""
    settings = app[settings_key]
    async with contextlib.AsyncExitStack() as stack:
        if settings.simulated:
            simulator = Simulator(
                token_delay=settings.simulator_token_delay,
                first_token_delay=settings.simulator_first_token_delay,
                thinking_time=settings.simulator_thinking_time,
                # Demo mode: each simulated model under its own deployment name.
                profiles={deployment: model for model, deployment in SIMULATOR_MODELS.items()},
            )
            url = await stack.enter_async_context(simulator.serving())
            configs: tuple[EndpointConfig, ...] = (EndpointConfig(url, simulator.api_key),)
            log.info("no AZURE_OPENAI_ENDPOINT or OPENAI_BASE_URL set: answers come from the built-in simulator")
        else:
            configs = settings.endpoints
        token_provider = app.get(token_provider_key)
        if settings.uses_entra_id and token_provider is None:
            token_provider = await stack.enter_async_context(entra_token_provider(settings))
        if warning := api_version_warning(settings):
            log.warning(warning)
        # With several endpoints we fail over at once on a 429 or a failure, so the SDK must not retry
        # (and sleep) on its own; with one, its retries are all there is.
        retries = 0 if len(configs) > 1 else None
        clients = [Endpoint(c, create_client(settings, c, token_provider, max_retries=retries)) for c in configs]
        upstream = Upstream(EndpointPool(clients), settings)
        stack.push_async_callback(upstream.close)
        app[upstream_key] = upstream
        yield


def api_version_warning(settings: Settings) -> str | None:
    if settings.uses_v1_api or settings.backend != "azure" or settings.api_version >= REASONING_API_VERSION:
        return None
    return (
        f"AZURE_OPENAI_API_VERSION={settings.api_version} is older than reasoning models (the gpt-5 family, "
        f"o-series) accept; unset it to use the v1 API, or set {REASONING_API_VERSION} or later"
    )


async def end_open_streams(app: web.Application) -> None:
    app[open_streams_key].close_all()
