"""Typed application state: every key the app stores, in one place."""

from __future__ import annotations

from aiohttp import web

from .access_state import AccessState
from .connections import Connections
from .limits import OpenStreams
from .metrics import ChatMetrics
from .outcome import OutcomeObserver
from .quota import DailyQuota
from .settings import Settings
from .shared_state import SharedState
from .upstream import TokenProvider, Upstream
from .usage import UsageAccounting

settings_key = web.AppKey("settings_key", Settings)
upstream_key = web.AppKey("upstream_key", Upstream)
open_streams_key = web.AppKey("open_streams_key", OpenStreams)
access_state_key = web.AppKey("access_state_key", AccessState)
connections_key = web.AppKey("connections_key", Connections)
observers_key: web.AppKey[list[OutcomeObserver]] = web.AppKey("observers_key")
shared_state_key = web.AppKey("shared_state_key", SharedState)
quota_key = web.AppKey("quota_key", DailyQuota)
token_provider_key: web.AppKey[TokenProvider] = web.AppKey("token_provider_key")
client_id_key = web.RequestKey("client_id_key", str)
metrics_key = web.AppKey("metrics_key", ChatMetrics)  # absent when CHAT_METRICS is off
usage_key = web.AppKey("usage_key", UsageAccounting)
# The preset of pages and requests that name none: `create_app(settings, preset=...)` or CHAT_DEFAULT_PRESET.
default_preset_key = web.AppKey("default_preset_key", str)
