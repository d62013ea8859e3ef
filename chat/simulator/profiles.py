"""The models the simulator imitates, and what each refuses the way a real deployment does."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from aiohttp import web

from chat.config.values import REASONING_API_VERSION
from chat.simulator.wire import error_response

Dialect = Literal["chat", "responses"]

# The oldest dated API version that takes the Responses API on the classic path (for reasoning
# models: the server's REASONING_API_VERSION, which it warns about at start-up).
RESPONSES_API_VERSION = "2025-03-01"
EFFORTS = ("minimal", "low", "medium", "high")


@dataclasses.dataclass(frozen=True)
class ModelProfile:
    name: str
    model: str  # as the wire names it
    reasoning: bool = False  # thinks silently first; refuses max_tokens, temperature and old API versions
    responses_only: bool = False  # Chat Completions answers 400 OperationNotSupported
    async_filter: bool = False  # Azure's asynchronous content filter: annotations come after the text


PROFILES = {
    profile.name: profile
    for profile in (
        ModelProfile("gpt-4o", "gpt-4o-2024-11-20"),
        ModelProfile("reasoning", "o4-mini-2025-04-16", reasoning=True),
        ModelProfile("responses", "gpt-5-codex-2025-09-15", reasoning=True, responses_only=True),
        ModelProfile("async-filter", "gpt-4o-2024-11-20", async_filter=True),
    )
}


def refusal(
    profile: ModelProfile, dialect: Dialect, body: dict[str, Any], api_version: str | None
) -> web.Response | None:
    """The 400 a deployment of this model gives to this request, or None when it takes it."""
    if dialect == "chat" and profile.responses_only:
        return error_response(
            400,
            "OperationNotSupported",
            f"The chatCompletion operation does not work with the specified model, {profile.model}. Please "
            "choose different model and try again.",
        )
    if api_version is not None and dialect == "responses" and api_version < RESPONSES_API_VERSION:
        return error_response(
            400,
            "BadRequest",
            f"Azure OpenAI Responses API is enabled only for api-version {RESPONSES_API_VERSION}-preview and later",
        )
    if api_version is not None and profile.reasoning and api_version < REASONING_API_VERSION:
        message = f"Model {profile.model} is enabled only for api versions {REASONING_API_VERSION} and later"
        return error_response(400, "BadRequest", message)
    if "max_tokens" in body and (profile.reasoning or dialect == "responses"):
        return _unsupported(
            "max_tokens",
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.",
        )
    if profile.reasoning and body.get("temperature", 1) != 1:
        return _unsupported(
            "temperature",
            "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is "
            "supported.",
            code="unsupported_value",
        )
    effort = body.get("reasoning_effort") if dialect == "chat" else (body.get("reasoning") or {}).get("effort")
    reasoning_parameter = "reasoning_effort" if dialect == "chat" else "reasoning.effort"
    if effort is not None and not profile.reasoning:
        return _unsupported(
            reasoning_parameter, f"Unsupported parameter: '{reasoning_parameter}' is not supported with this model."
        )
    if effort is not None and effort not in EFFORTS:
        return _unsupported(reasoning_parameter, f"Invalid value: '{effort}'.", code="unsupported_value")
    if dialect == "responses" and (body.get("reasoning") or {}).get("summary") and not profile.reasoning:
        return _unsupported(
            "reasoning.summary", "Unsupported parameter: 'reasoning.summary' is not supported with this model."
        )
    return None


def _unsupported(param: str, message: str, *, code: str = "unsupported_parameter") -> web.Response:
    return error_response(400, code, message, type="invalid_request_error", param=param)
