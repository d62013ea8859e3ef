"""Typed application state: every key the app stores, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai
from aiohttp import web

from .settings import Settings

if TYPE_CHECKING:
    from .upstream import TokenProvider
    from .limits import ClientLimits
    from .relay import OpenStreams

settings_key = web.AppKey("settings_key", Settings)
upstream_client_key = web.AppKey("upstream_client_key", openai.AsyncOpenAI)
open_streams_key = web.AppKey("open_streams_key", "OpenStreams")
limits_key = web.AppKey("limits_key", "ClientLimits")
client_id_key = web.RequestKey("client_id_key", str)
token_provider_key = web.AppKey("token_provider_key", "TokenProvider")
