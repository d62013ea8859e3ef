"""The application factory, shared by `server.py`, the tests, the benchmarks and embedding hosts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp_jinja2
import jinja2
from aiohttp import web

from chat.access.control import access_control
from chat.access.sign_in_throttle import SignInThrottle
from chat.access.state import AccessState, access_state_key
from chat.accounting.metrics import ChatMetrics, metrics_key
from chat.accounting.outcome import observers_key
from chat.accounting.quota import DailyQuota, quota_key
from chat.accounting.usage import MemoryUsageStore, UsageAccounting, usage_key
from chat.accounting.usage_redis import RedisUsageStore
from chat.answers.local import LocalAnswers, answers_context, answers_key
from chat.config.endpoints import EndpointConfig
from chat.config.presets import allowed_presets_key, default_preset_key
from chat.config.settings import Settings, SettingsError, settings_key
from chat.config.values import REASONING_API_VERSION, SIMULATOR_MODELS
from chat.conversations.store import ConversationStore, conversations_context, conversations_key
from chat.edge.connections import connections_key, serve_chat_connections
from chat.edge.headers import add_security_headers, security_headers
from chat.edge.routes import WEB_DIR, setup_routes
from chat.relay.sse import PingTicker, ping_ticker_context, ping_ticker_key
from chat.simulator import Simulator
from chat.state.open_streams import OpenStreams, open_streams_key
from chat.state.shared_state import SharedState, shared_state_key
from chat.upstream import Endpoint, EndpointPool, TokenProvider, Upstream, create_client
from chat.upstream.client import token_provider_key
from chat.upstream.direct_post import direct_post, direct_session
from chat.upstream.entra import entra_token_provider
from chat.upstream.service import upstream_key

log = logging.getLogger("chat")


def create_app(
    settings: Settings,
    *,
    token_provider: TokenProvider | None = None,
    preset: str | None = None,
    only: bool | None = None,
) -> web.Application:
    """The chat application; `token_provider` lets a host supply its own Entra ID tokens, and `preset`
    names the preset (of CHAT_PRESETS_FILE) of its pages and of requests that name none. With `only`
    (the default when `preset` is given) the app is pinned to it: a request or page naming another
    preset gets 403 `forbidden_preset`; `only=False` makes it a default that requests may leave."""
    if token_provider is None:
        settings.check_entra_support()
    preset, allowed = preset_scope(settings, preset, only)
    app = web.Application(middlewares=[access_control])
    app[settings_key] = settings
    if preset is not None:
        app[default_preset_key] = preset
    if allowed is not None:
        app[allowed_presets_key] = allowed
    if token_provider is not None:
        app[token_provider_key] = token_provider
    app[shared_state_key] = shared = SharedState(settings.redis_url)
    app[open_streams_key] = OpenStreams(settings, shared)
    app[access_state_key] = AccessState(throttle=SignInThrottle(shared))
    app[answers_key] = LocalAnswers(settings, shared)
    app[conversations_key] = ConversationStore(settings)
    app[observers_key] = []
    # Told of each chat request as it ends: usage accounting, and the metrics unless turned off.
    app[usage_key] = UsageAccounting(RedisUsageStore(shared) if shared.enabled else MemoryUsageStore())
    app[observers_key].append(app[usage_key])
    if app[conversations_key].enabled:  # a resumable answer's turn kept however it ends
        app[observers_key].append(app[conversations_key])
        app[answers_key].on_finished.append(app[conversations_key].resumable_finished)
    app[quota_key] = DailyQuota(settings, shared)
    if app[quota_key].enabled:
        app[observers_key].append(app[quota_key])
    if settings.metrics:
        app[metrics_key] = ChatMetrics(settings)
        app[observers_key].append(app[metrics_key])
        app[open_streams_key].on_count = app[metrics_key].streams_open.set
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(WEB_DIR / "templates"), autoescape=True)
    # Closed last: the answers that end at shutdown (below) keep their turns before the database closes.
    app.cleanup_ctx.append(conversations_context)
    app.cleanup_ctx.append(shared_state_context)
    app.cleanup_ctx.append(upstream_context)
    app[ping_ticker_key] = PingTicker(settings.ping_interval)
    app.cleanup_ctx.append(ping_ticker_context)
    app.cleanup_ctx.append(answers_context)  # ends first: the answers' last events reach Redis before it closes
    app.on_shutdown.append(end_open_streams)
    app.on_response_prepare.append(add_security_headers)
    app[connections_key] = serve_chat_connections(app, security_headers(settings.frame_ancestors))
    setup_routes(app)
    return app


def preset_scope(settings: Settings, preset: str | None, only: bool | None) -> tuple[str | None, frozenset[str] | None]:
    """The app's default preset, and the presets its requests may name (None: any): CHAT_PRESETS_ALLOWED,
    narrowed to the one preset of a pinned app."""
    if only is None:
        only = preset is not None
    allowed = settings.presets_allowed
    preset = preset or settings.default_preset or (allowed[0] if allowed else None)
    if preset is not None and preset not in settings.presets.presets:
        raise SettingsError(f"create_app: preset {preset!r} is not a preset of CHAT_PRESETS_FILE")
    if allowed and preset not in allowed:
        raise SettingsError(f"create_app: preset {preset!r} is not among CHAT_PRESETS_ALLOWED")
    if only:
        if preset is None:
            raise SettingsError("create_app: only=True needs a preset to pin the app to")
        return preset, frozenset({preset})
    return preset, frozenset(allowed) if allowed else None


async def shared_state_context(app: web.Application) -> AsyncIterator[None]:
    """Renew this process's stream leases in Redis while it runs; close the connections at the end."""
    open_streams = app[open_streams_key]
    renewing = asyncio.create_task(open_streams.renew_leases()) if app[shared_state_key].enabled else None
    try:
        yield
    finally:
        if renewing is not None:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        # The streams ending now write their usage and quota counts as they end: wait for them.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(open_streams.wait_until_idle(), app[settings_key].shutdown_timeout)
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
        session = await stack.enter_async_context(direct_session(settings))
        clients = []
        for config in configs:
            client = create_client(settings, config, token_provider, max_retries=retries)
            clients.append(Endpoint(config, client, direct_post(config, client, session, settings)))
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
    app[answers_key].close_readers()
