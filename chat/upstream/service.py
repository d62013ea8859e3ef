"""The model service as the relay sees it: one client, and how each deployment is spoken to."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from chat.config.settings import Settings
from chat.upstream import chat_completions, responses
from chat.upstream.failures import SettingNames
from chat.upstream.messages import Message
from chat.upstream.pool import EndpointPool
from chat.upstream.stream import CompletionStream, Reader, without


class Upstream:
    """Builds each answer's request in the deployment's dialect, with what the deployment takes."""

    def __init__(self, pool: EndpointPool, settings: Settings) -> None:
        self.pool = pool
        self._settings = settings
        self._names = SettingNames.of(settings)
        # Optional parameters a deployment refused once (a model without reasoning summaries, say):
        # not sent to it again by this process.
        self._refused: set[tuple[str, str]] = set()

    def answer(
        self, deployment: str, messages: list[Message], max_tokens: int | None, reasoning_effort: str | None = None
    ) -> CompletionStream:
        """`reasoning_effort` (a preset's) over the deployment's setting."""
        settings = self._settings
        effort = reasoning_effort or settings.reasoning_effort_for(deployment)
        reader: Callable[[], Reader]
        if settings.uses_responses_api(deployment):
            path, reader = responses.PATH, responses.ResponsesReader
            body = responses.request_body(deployment, messages, max_tokens, reasoning_effort=effort)
            optional: tuple[str, ...] = ("reasoning.summary", "reasoning.effort")
        else:
            path, reader = chat_completions.PATH, chat_completions.CompletionReader
            # Every current Azure chat model takes max_completion_tokens, and reasoning models refuse max_tokens.
            parameter = settings.max_tokens_parameter if settings.backend == "openai" else "max_completion_tokens"
            body = chat_completions.request_body(
                deployment, messages, max_tokens, max_tokens_parameter=parameter, reasoning_effort=effort
            )
            optional = ("reasoning_effort",)
        for name in optional:
            if (deployment, name) in self._refused:
                without(body, name)
        return CompletionStream(
            self.pool,
            deployment,
            path,
            body,
            reader,
            first_token_timeout=settings.first_token_timeout,
            read_timeout=settings.read_timeout,
            optional=tuple(name for name in optional if (deployment, name) not in self._refused),
            on_refused=lambda name: self._refused.add((deployment, name)),
            names=self._names,
        )

    async def close(self) -> None:
        await self.pool.close()


upstream_key = web.AppKey("upstream_key", Upstream)
