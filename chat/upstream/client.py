"""The SDK client for the configured backend: Azure (key or Entra ID token; the v1 API or a dated
version) or an OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import openai
from aiohttp import web

from chat.config.endpoints import V1_PATH, EndpointConfig
from chat.config.settings import Settings
from chat.config.values import V1
from chat.internals.private_api import end_read_timer, keep_only_headers
from chat.upstream.failures import HostNotFound, OutOfDescriptors, out_of_descriptors, unresolved

TokenProvider = Callable[[], Awaitable[str]]

# What an answer that has begun still reads of its response's headers (chat/upstream/stream.py), and
# what the SDK logs (x-request-id); the rest is dropped once the answer streams.
HEADERS_READ_WHILE_STREAMING = frozenset({"content-type", "content-encoding", "x-request-id"})


class SignInFailed(Exception):
    """The token provider could not get a token; the SDK calls it outside its own error handling."""


def create_client(
    settings: Settings,
    endpoint_config: EndpointConfig,
    token_provider: TokenProvider | None = None,
    *,
    max_retries: int | None = None,
) -> openai.AsyncOpenAI:
    """The SDK client of one endpoint; `max_retries` 0 where we fail over ourselves."""
    endpoint, api_key = endpoint_config.url, endpoint_config.api_key
    version = endpoint_config.api_version or (V1 if endpoint_config.names_v1_path else settings.api_version)
    # The stream enforces the wait for the first token and the stall timeout itself, per read; the
    # transport only must not give up sooner.
    timeout = httpx2.Timeout(max(settings.read_timeout, settings.first_token_timeout), connect=settings.connect_timeout)
    common: dict[str, Any] = {
        "timeout": timeout,
        "max_retries": settings.max_retries if max_retries is None else max_retries,
        # aiohttp under the SDK: reads cost a fraction of httpx2's, which arms an anyio timeout per read.
        "http_client": _HttpClient(
            timeout=timeout,
            # Every open chat holds one upstream connection for its whole answer.
            limits=httpx2.Limits(max_connections=10_000, max_keepalive_connections=200),
        ),
    }
    if settings.backend == "openai":
        # Local servers (vLLM, Ollama, llama.cpp) often need no key; the SDK insists on one.
        return openai.AsyncOpenAI(base_url=endpoint, api_key=api_key or "none", **common)
    if version == V1:
        # Azure's v1 API is the plain OpenAI client on /openai/v1/; keyless, the token provider is the key.
        key: str | TokenProvider = api_key or _marked(_required(token_provider))
        return openai.AsyncOpenAI(base_url=v1_base_url(endpoint), api_key=key, **common)
    if not api_key:
        return openai.AsyncAzureOpenAI(
            azure_endpoint=endpoint,
            azure_ad_token_provider=_marked(_required(token_provider)),
            api_version=version,
            **common,
        )
    return openai.AsyncAzureOpenAI(azure_endpoint=endpoint, api_key=api_key, api_version=version, **common)


class _HttpClient(openai.DefaultAioHttpClient):
    """The SDK's aiohttp client, telling a host name that does not resolve, and a connect that found
    no file descriptor, from other connection failures at once: the SDK would retry them (with its
    backoff) and then call them a timeout. An answer that streams keeps only the headers it reads."""

    async def send(self, request: httpx2.Request, **options: Any) -> httpx2.Response:
        try:
            response = await super().send(request, **options)
        except httpx2.TransportError as error:
            if unresolved(error):
                raise HostNotFound(request) from error
            if out_of_descriptors(error):
                raise OutOfDescriptors(request) from error
            raise
        # Only an answer that streams: a refusal's headers (retry-after, its request id) are still read.
        if response.is_success and response.headers.get("content-type", "").startswith("text/event-stream"):
            keep_only_headers(response, HEADERS_READ_WHILE_STREAMING)
            end_read_timer(response)
        return response


def v1_base_url(endpoint: str) -> str:
    """`https://NAME.openai.azure.com/openai/v1/`, whether the endpoint names the resource or the v1 path."""
    base = endpoint.rstrip("/")
    return (base if base.endswith(V1_PATH) else base + V1_PATH) + "/"


def _required(token_provider: TokenProvider | None) -> TokenProvider:
    if token_provider is None:
        raise ValueError("Azure without a key needs a token provider")
    return token_provider


def _marked(token_provider: TokenProvider) -> TokenProvider:
    """The provider, with its failures told apart from every other error of opening a request."""

    async def provide() -> str:
        try:
            return await token_provider()
        except Exception as error:
            raise SignInFailed(f"{type(error).__name__}: {error}") from error

    return provide


token_provider_key: web.AppKey[TokenProvider] = web.AppKey("token_provider_key")
