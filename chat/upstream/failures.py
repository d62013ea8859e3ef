"""Every way the model service can fail, mapped once to what our client is told."""

from __future__ import annotations

import math

import aiohttp
import httpx2
import openai

from chat.errors.chat_error import ChatError

DEFAULT_RETRY_AFTER = 5

TRANSPORT_ERRORS = (httpx2.HTTPError, aiohttp.ClientError)


def failure_before_stream(error: openai.APIError) -> ChatError:
    """An SDK error (after its own retries), before any byte of the answer."""
    if isinstance(error, openai.APITimeoutError) and _timed_out(error):
        return ChatError(504, "upstream_timeout", "The model service did not answer in time. Try again.")
    if isinstance(error, openai.APIConnectionError):
        return ChatError(502, "upstream_unavailable", "The model service cannot be reached. Try again in a moment.")
    if isinstance(error, openai.RateLimitError):
        return all_throttled(retry_after(error.response.headers))
    if isinstance(error, openai.APIStatusError):
        code = _error_code(error.body)
        if code == "content_filter":
            return ChatError(
                400, "content_filter", "Your message was blocked by the content filter. Rephrase it and send again."
            )
        if code == "OperationNotSupported":
            return ChatError(
                502,
                "operation_not_supported",
                "This model works only through the Responses API. "
                "Ask the administrator to add its deployment to CHAT_RESPONSES_DEPLOYMENTS.",
            )
        if "enabled only for api versions" in _error_message(error.body):
            return ChatError(
                502,
                "upstream_error",
                "This model needs a newer API version. Ask the administrator "
                "to unset AZURE_OPENAI_API_VERSION (the v1 API) or set 2024-12-01-preview or later.",
            )
        if code == "context_length_exceeded":
            return ChatError(
                400,
                "conversation_too_long",
                "This conversation is too long for the model. Start a new chat or remove earlier messages.",
            )
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return ChatError(
                502,
                "upstream_error",
                "The server's credentials for the model service were refused. Ask the administrator to check them.",
            )
        if isinstance(error, openai.NotFoundError):
            return ChatError(
                502,
                "upstream_error",
                "The configured model deployment was not found. Ask the administrator to check it.",
            )
        if error.status_code >= 500:
            return ChatError(502, "upstream_unavailable", "The model service had a problem. Try again in a moment.")
    return ChatError(502, "upstream_error", "The model service refused the request.")


def sign_in_failed() -> ChatError:
    return ChatError(
        502,
        "upstream_error",
        "The server could not sign in to the model service. Ask the administrator to check its credentials.",
    )


def failure_in_stream(error: object) -> ChatError:
    """An `{"error": ...}` event inside an answer that had already begun."""
    if _error_code({"error": error}) == "content_filter":
        return ChatError(400, "content_filter", "The rest of the answer was withheld by the content filter.")
    return ChatError(502, "upstream_error", "The model service stopped with an error. Try again.")


def unreadable() -> ChatError:
    return ChatError(502, "upstream_error", "The model service sent a reply this server could not read.")


def ended_early() -> ChatError:
    return ChatError(502, "upstream_error", "The model service ended the answer early. Try again.")


def stalled() -> ChatError:
    return ChatError(504, "upstream_timeout", "The model service stopped sending. Try again.")


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
    return ChatError(502, "upstream_unavailable", "The connection to the model service was lost. Try again.")


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


def retry_after(headers: httpx2.Headers) -> float:
    """Seconds to wait, as Azure says: `retry-after-ms`, else `Retry-After`, else a default."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return DEFAULT_RETRY_AFTER


def retry_after_seconds(headers: httpx2.Headers) -> int:
    """The same, in whole seconds of at least one, as our own Retry-After says it."""
    return max(1, math.ceil(retry_after(headers)))


def all_throttled(retry_after: float) -> ChatError:
    seconds = max(1, math.ceil(retry_after))
    return ChatError(
        429,
        "rate_limited",
        f"The model service is busy. Try again in {seconds} seconds.",
        retry_after=seconds,
    )


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
