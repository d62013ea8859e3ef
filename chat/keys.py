"""Typed application state: every key the app stores, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai
from aiohttp import web

from .settings import Settings

if TYPE_CHECKING:
    from .limits import ClientLimits
    from .relay import OpenStreams
    from .upstream import TokenProvider

settings_key = web.AppKey("settings_key", Settings)
upstream_client_key = web.AppKey("upstream_client_key", openai.AsyncOpenAI)
open_streams_key: web.AppKey[OpenStreams] = web.AppKey("open_streams_key")
limits_key: web.AppKey[ClientLimits] = web.AppKey("limits_key")
token_provider_key: web.AppKey[TokenProvider] = web.AppKey("token_provider_key")
client_id_key = web.RequestKey("client_id_key", str)
