"""An answer's POST sent by aiohttp itself, to the URL and with the headers the SDK would send.

The SDK's path for one request (an options model copied twice, the URL parsed and merged three
times, an httpx2 request, its auth, redirect and cookie layers, an httpx2 response around
aiohttp's) costs about twice the request itself: at a burst of 200 streams it was most of the
relay's wait before the first token. So the SDK decides once per endpoint, path and deployment
what a request looks like (URL, key, version, its headers), and aiohttp sends each answer's. What
is not an answer that streams goes back to the SDK: a refusal is typed by the SDK's own mapping,
and one the SDK would retry is retried by the SDK, after the wait it would have made. Endpoints
signed in with Entra ID keep the SDK for every request: their token changes.
"""

from __future__ import annotations

import random
import urllib.parse
import urllib.request
from typing import Any

import aiohttp
import httpx2
import openai
import orjson

from chat.config.endpoints import EndpointConfig
from chat.config.settings import Settings
from chat.internals.private_api import sdk_request_target, sdk_status_error, stop_read_timer
from chat.upstream.failures import HostNotFound, OutOfDescriptors, named_wait, out_of_descriptors, unresolved

MAX_REFUSAL_BYTES = 64 * 1024  # of a refusal's body: its error object, not an answer
# The SDK's wait before its first retry when the refusal names none (openai/_constants.py).
FIRST_RETRY_DELAY = 0.5
LONGEST_NAMED_RETRY = 60.0  # the longest Retry-After the SDK waits for; beyond, its own backoff


class RetryBySdk(Exception):
    """The direct attempt failed in a way the SDK retries: it makes the next attempts."""

    def __init__(self, error: openai.APIError, delay: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


class DirectPost:
    def __init__(self, client: openai.AsyncOpenAI, session: aiohttp.ClientSession) -> None:
        self._client = client
        self._session = session
        self._targets: dict[tuple[str, str], tuple[str, dict[str, str], str | None]] = {}

    async def post(self, path: str, body: dict[str, Any]) -> aiohttp.ClientResponse:
        """The open answer (a 2xx response, headers read); a refusal or failure raises the SDK's
        error, or RetryBySdk where the SDK would try again."""
        model = str(body.get("model", ""))
        target = self._targets.get((path, model))
        if target is None:
            url, headers = await sdk_request_target(self._client, path, model)
            target = self._targets[(path, model)] = (url, headers, env_proxy(url))
        url, headers, proxy = target
        try:
            response = await self._session.post(url, data=orjson.dumps(body), headers=headers, proxy=proxy)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise self._connection_failure(url, error) from error
        if 200 <= response.status < 300:
            stop_read_timer(response)  # the stream keeps its own deadlines
            return response
        raise self._refusal(url, response, await _refusal_body(response))

    def _connection_failure(self, url: str, error: BaseException) -> Exception:
        request = httpx2.Request("POST", url)
        if unresolved(error):
            return HostNotFound(request)
        if out_of_descriptors(error):
            return OutOfDescriptors(request)
        failure: openai.APIConnectionError
        if isinstance(error, TimeoutError):
            failure = openai.APITimeoutError(request=request)
        else:
            failure = openai.APIConnectionError(request=request)
        return self._retried(failure, None)

    def _refusal(self, url: str, response: aiohttp.ClientResponse, content: bytes) -> Exception:
        refusal = httpx2.Response(
            response.status,
            headers=list(response.headers.items()),
            content=content,
            request=httpx2.Request("POST", url),
        )
        error = sdk_status_error(self._client, refusal)
        should_retry = refusal.headers.get("x-should-retry")
        if should_retry == "false" or (should_retry != "true" and not _retried_status(refusal.status_code)):
            return error
        return self._retried(error, refusal.headers)

    def _retried(self, error: openai.APIError, headers: httpx2.Headers | None) -> Exception:
        if self._client.max_retries < 1:
            return error
        return RetryBySdk(error, _first_retry_delay(headers))


def _retried_status(status: int) -> bool:
    """The statuses the SDK retries (its `_should_retry`): a timeout, a lock, a 429, a failure."""
    return status in (408, 409, 429) or status >= 500


def _first_retry_delay(headers: httpx2.Headers | None) -> float:
    """What the SDK waits before its first retry: the wait the refusal names when it is of at most a
    minute, else its backoff, less up to a quarter."""
    seconds = named_wait(headers) if headers is not None else None
    if seconds is not None and 0 < seconds <= LONGEST_NAMED_RETRY:
        return seconds
    return FIRST_RETRY_DELAY * (1 - 0.25 * random.random())


async def _refusal_body(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.content.read(MAX_REFUSAL_BYTES)
    except (TimeoutError, aiohttp.ClientError, OSError):
        return b""
    finally:
        response.release()


# As the SDK's own aiohttp client pools its connections (httpx2's Limits, chat/upstream/client.py).
MAX_CONNECTIONS = 10_000
KEEPALIVE_SECONDS = 5.0


def env_proxy(url: str) -> str | None:
    """The proxy HTTP(S)_PROXY and NO_PROXY name for `url`, as the SDK's client honours them; read
    once per target: aiohttp's `trust_env` reads them, and ~/.netrc in a thread, for every request."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy is None or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def direct_session(settings: Settings) -> aiohttp.ClientSession:
    """The connection pool of the direct requests of every endpoint (`async with` closes it)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS),
        # The wait for the first token is the stream's; the transport only must not give up sooner.
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.connect_timeout,
            sock_read=max(settings.read_timeout, settings.first_token_timeout),
        ),
    )


def direct_post(
    config: EndpointConfig, client: openai.AsyncOpenAI, session: aiohttp.ClientSession, settings: Settings
) -> DirectPost | None:
    """None where the SDK must sign each request (an Entra ID token)."""
    if not config.api_key and settings.backend != "openai":
        return None
    return DirectPost(client, session)
