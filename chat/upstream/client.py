"""The SDK client for the configured backend: Azure (key or Entra ID token) or OpenAI-compatible."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import openai

from ..settings import Settings

TokenProvider = Callable[[], Awaitable[str]]


class SignInFailed(Exception):
    """The token provider could not get a token; the SDK calls it outside its own error handling."""


def create_client(
    settings: Settings, endpoint: str, api_key: str | None, token_provider: TokenProvider | None = None
) -> openai.AsyncOpenAI:
    timeout = httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    common: dict[str, Any] = {
        "timeout": timeout,
        "max_retries": settings.max_retries,
        # aiohttp under the SDK: reads cost a fraction of httpx2's, which arms an anyio timeout per read.
        "http_client": openai.DefaultAioHttpClient(
            timeout=timeout,
            # Every open chat holds one upstream connection for its whole answer.
            limits=httpx2.Limits(max_connections=10_000, max_keepalive_connections=200),
        ),
    }
    if settings.backend == "openai":
        # Local servers (vLLM, Ollama, llama.cpp) often need no key; the SDK insists on one.
        return openai.AsyncOpenAI(base_url=endpoint, api_key=api_key or "none", **common)
    if token_provider is not None:
        return openai.AsyncAzureOpenAI(
            azure_endpoint=endpoint,
            azure_ad_token_provider=_marked(token_provider),
            api_version=settings.api_version,
            **common,
        )
    return openai.AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=api_key, api_version=settings.api_version, **common)


def _marked(token_provider: TokenProvider) -> TokenProvider:
    """The provider, with its failures told apart from every other error of opening a request."""

    async def provide() -> str:
        try:
            return await token_provider()
        except Exception as error:
            raise SignInFailed(f"{type(error).__name__}: {error}") from error

    return provide
