"""Every way the model service can fail, mapped once to what our client is told (the messages are
in `chat.errors.catalogue`). A refusal the administrator can fix names the setting to change."""

from __future__ import annotations

import dataclasses
import math
import socket

import aiohttp
import httpx2
import openai

from chat.config.endpoints import EndpointConfig
from chat.config.settings import Settings
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.state.descriptor_budget import SHORTAGE, upstream_shortages
from chat.upstream.sse_decoder import MAX_EVENT_BYTES

DEFAULT_RETRY_AFTER = 5
SHORTAGE_RETRY_AFTER = 5  # seconds: streams end and give their descriptors back

TRANSPORT_ERRORS = (httpx2.HTTPError, aiohttp.ClientError)

ENTRA_ROLE = "the server's Entra ID identity and its role on the resource (Cognitive Services OpenAI User)"
DEPLOYMENT_NOT_FOUND = frozenset({"DeploymentNotFound", "model_not_found"})  # Azure's code, OpenAI's


@dataclasses.dataclass(frozen=True, slots=True)
class SettingNames:
    """The settings that name the endpoints, their keys and the deployments, as this server was
    configured: the ones a refusal tells the administrator to check. Names, never values."""

    endpoint: str = "AZURE_OPENAI_ENDPOINT"
    key: str = "AZURE_OPENAI_API_KEY"
    deployment: str = "AZURE_OPENAI_DEPLOYMENT"
    keyless: str = f"{ENTRA_ROLE}, or AZURE_OPENAI_API_KEY"

    @classmethod
    def of(cls, settings: Settings) -> SettingNames:
        if settings.endpoints_file is not None:
            key = "the endpoint's api_key or api_key_env in CHAT_ENDPOINTS_FILE"
            return cls(
                "CHAT_ENDPOINTS_FILE",
                key,
                "AZURE_OPENAI_DEPLOYMENT and the endpoint's deployments in CHAT_ENDPOINTS_FILE",
                f"{ENTRA_ROLE}, or {key}",
            )
        if settings.backend == "openai":
            return cls("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "OPENAI_API_KEY")
        return cls()

    def key_of(self, endpoint: EndpointConfig | None) -> str:
        return self.key if endpoint is None or endpoint.api_key else self.keyless


class HostNotFound(openai.APIConnectionError):
    """The endpoint's host name does not resolve. An SDK error of our own, raised by the transport
    (`client.py`): the SDK passes such errors on as they are, without its retries."""

    def __init__(self, request: httpx2.Request) -> None:
        super().__init__(message=f"The host {request.url.host!r} cannot be resolved.", request=request)


class OutOfDescriptors(openai.APIError):
    """A connect to the model service found no file descriptor (or buffer) left in this process or
    system. An SDK error of our own, raised by the transport (`client.py`), so that the SDK neither
    retries it (its backoff imported a module, which itself failed with `EMFILE`: a bare 500) nor
    calls it a timeout, and not a connection error, so that the endpoint is not taken for failing."""

    def __init__(self, request: httpx2.Request) -> None:
        super().__init__("No file descriptor left to connect to the model service.", request, body=None)


def out_of_descriptors(error: BaseException) -> bool:
    """Whether a connection failed for want of a descriptor or buffer, as the exception chain says
    (the SDK's transport reports it as a connect timeout)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in SHORTAGE:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def failure_before_stream(
    error: openai.APIError,
    names: SettingNames | None = None,
    endpoint: EndpointConfig | None = None,
    deployment: str = "",
) -> ChatError:
    """An SDK error (after its own retries), before any byte of the answer; `endpoint` is the one
    that failed last, `deployment` the name it was asked for."""
    names = names or SettingNames()
    if isinstance(error, OutOfDescriptors):
        upstream_shortages.shortage()
        return ChatError(catalogue.SERVER_OUT_OF_DESCRIPTORS, retry_after=SHORTAGE_RETRY_AFTER)
    if isinstance(error, openai.APIConnectionError) and unresolved(error):
        host = endpoint.host if endpoint is not None else error.request.url.host
        return ChatError(catalogue.UPSTREAM_UNRESOLVED, host=host, setting=names.endpoint)
    if isinstance(error, openai.APITimeoutError) and _timed_out(error):
        return ChatError(catalogue.UPSTREAM_TIMEOUT)
    if isinstance(error, openai.APIConnectionError):
        return ChatError(catalogue.UPSTREAM_UNREACHABLE)
    if isinstance(error, openai.RateLimitError):
        return all_throttled(retry_after(error.response.headers))
    if isinstance(error, openai.APIStatusError):
        code = _error_code(error.body)
        if code == "content_filter":
            return ChatError(catalogue.PROMPT_FILTERED)
        if code == "OperationNotSupported":
            return ChatError(catalogue.OPERATION_NOT_SUPPORTED)
        if "enabled only for api versions" in _error_message(error.body):
            return ChatError(catalogue.UPSTREAM_API_VERSION)
        if code == "context_length_exceeded":
            return ChatError(catalogue.CONTEXT_TOO_LONG)
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return ChatError(catalogue.UPSTREAM_KEY_REFUSED, setting=names.key_of(endpoint))
        if isinstance(error, openai.NotFoundError):
            # A plain 404 may as well be an endpoint without its path (`/v1`, `/openai/v1`).
            setting = names.deployment if code in DEPLOYMENT_NOT_FOUND else f"{names.deployment} and {names.endpoint}"
            return ChatError(catalogue.UPSTREAM_DEPLOYMENT_NOT_FOUND, deployment=deployment, setting=setting)
        if error.status_code >= 500:
            return ChatError(catalogue.UPSTREAM_FAILED)
    return ChatError(catalogue.UPSTREAM_REFUSED)


def sign_in_failed() -> ChatError:
    return ChatError(catalogue.UPSTREAM_SIGN_IN_FAILED)


def failure_in_stream(error: object) -> ChatError:
    """An `{"error": ...}` event inside an answer that had already begun."""
    if _error_code({"error": error}) == "content_filter":
        return ChatError(catalogue.ANSWER_FILTERED)
    return ChatError(catalogue.UPSTREAM_STOPPED)


def unreadable() -> ChatError:
    return ChatError(catalogue.UPSTREAM_UNREADABLE)


def ended_early() -> ChatError:
    return ChatError(catalogue.UPSTREAM_ENDED_EARLY)


def too_large() -> ChatError:
    """A line or event over the decoder's cap (`chat.upstream.sse_decoder.MAX_EVENT_BYTES`)."""
    return ChatError(catalogue.UPSTREAM_TOO_LARGE, limit=f"{MAX_EVENT_BYTES >> 20} MiB")


def stalled() -> ChatError:
    return ChatError(catalogue.UPSTREAM_STALLED)


def refused_parameter(error: openai.BadRequestError, optional: list[str]) -> str | None:
    """Which of our optional parameters a 400 says the model does not support, if it says so."""
    body = error.body.get("error", error.body) if isinstance(error.body, dict) else None
    if not isinstance(body, dict) or body.get("code") not in ("unsupported_parameter", "unsupported_value"):
        return None
    param = body.get("param")
    return param if param in optional else None


def failure_of_transport(error: httpx2.HTTPError | aiohttp.ClientError) -> ChatError:
    if isinstance(error, (httpx2.TimeoutException, TimeoutError)) and _timed_out(error):
        return stalled()
    return ChatError(catalogue.UPSTREAM_LOST)


def unresolved(error: BaseException) -> bool:
    """Whether a connection failed because the host name does not resolve (a DNS failure, or a
    name that does not exist), as the exception chain says."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, (HostNotFound, socket.gaierror, aiohttp.ClientConnectorDNSError)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _timed_out(error: BaseException) -> bool:
    """Whether a "timeout" really was one: the aiohttp transport reports a refused or dropped
    connection as a connect timeout, keeping the real cause in the exception chain."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, (TimeoutError, aiohttp.ServerTimeoutError)):
            return True
        if isinstance(cause, (aiohttp.ClientConnectionError, ConnectionError)):
            return False
        cause = cause.__cause__ or cause.__context__
    return True


def named_wait(headers: httpx2.Headers) -> float | None:
    """Seconds to wait, as Azure says: `retry-after-ms`, else `Retry-After` (seconds); None if neither."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def retry_after(headers: httpx2.Headers) -> float:
    """The wait a refusal names, else a default."""
    seconds = named_wait(headers)
    return DEFAULT_RETRY_AFTER if seconds is None else seconds


def retry_after_seconds(headers: httpx2.Headers) -> int:
    """The same, in whole seconds of at least one, as our own Retry-After says it."""
    return max(1, math.ceil(retry_after(headers)))


def all_throttled(retry_after: float) -> ChatError:
    seconds = max(1, math.ceil(retry_after))
    return ChatError(catalogue.UPSTREAM_RATE_LIMITED, retry_after=seconds)


def _error_message(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def _error_code(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    if not isinstance(body, dict):
        return None
    inner = body.get("innererror")
    if isinstance(inner, dict) and inner.get("code") == "ResponsibleAIPolicyViolation":
        return "content_filter"
    code = body.get("code")
    return code if isinstance(code, str) else None
