"""A simulated Azure OpenAI endpoint that speaks the exact streaming wire format of each model it imitates.

It is a real aiohttp app reached over loopback HTTP by the real SDK, so demo mode, tests and
benchmarks run the production code path. It serves the classic paths (`/openai/deployments/...`
with an api-version), the v1 API (`/openai/v1/...`), the Responses API and the plain OpenAI dialect
(`/v1/...`). Tests steer it: model profiles, scripted answers, injected faults, and, when they ask
for it with `record=True`, a record of every request, including whether the caller hung up before
the end. Demo mode records nothing, so a long-running demo keeps flat memory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from chat.simulator import wire
from chat.simulator.answers import answer_for
from chat.simulator.faults import REFUSALS, Fault, PlannedFault
from chat.simulator.profiles import PROFILES, Dialect, ModelProfile, refusal
from chat.simulator.streams import Pace, SimulatedRequest, stream_chat, stream_responses

__all__ = ["PROFILES", "Fault", "ModelProfile", "SimulatedRequest", "Simulator"]

API_KEY_HEADER = "api-key"


class Simulator:
    def __init__(
        self,
        *,
        api_key: str = "simulator-key",
        token_delay: float = 0.0,
        first_token_delay: float = 0.0,
        thinking_time: float = 0.0,
        split_frames: bool = False,
        keep_alive: bool = True,
        record: bool = False,
        profile: str = "gpt-4o",
        profiles: dict[str, str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.keep_alive = keep_alive  # False: one connection per request, so no pool grows anywhere
        self.split_frames = split_frames
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.thinking_time = thinking_time
        self.profile = profile  # the model every deployment imitates, unless `profiles` names it
        self.profiles = profiles or {}  # deployment -> profile name
        self.record = record
        self.requests: list[SimulatedRequest] = []  # only with `record`
        self.open_requests = 0
        self._scripts: collections.deque[str] = collections.deque()
        self._faults: collections.deque[PlannedFault] = collections.deque()
        self._arrivals: asyncio.Queue[SimulatedRequest] = asyncio.Queue()
        self.bearer_tokens: set[str] = set()  # Entra ID tokens Azure accepts besides the key
        # An unset event here holds every answer (arrived, recorded) until it is set.
        self.hold: asyncio.Event | None = None
        self.app = web.Application()
        router = self.app.router
        router.add_post("/openai/deployments/{deployment}/chat/completions", self._classic_chat)
        router.add_post("/openai/responses", self._classic_responses)
        router.add_post("/openai/v1/chat/completions", self._v1_chat)
        router.add_post("/openai/v1/responses", self._v1_responses)
        router.add_post("/v1/chat/completions", self._openai_chat)
        self.app.on_response_prepare.append(self._connection_policy)

    def script(self, text: str) -> None:
        """The next answer is exactly `text` (queued: one call, one answer)."""
        self._scripts.append(text)

    def fail_next(self, fault: Fault, *, after_chunks: int = 3, times: int = 1, retry_after_ms: int = 1000) -> None:
        for _ in range(times):
            self._faults.append(PlannedFault(fault, after_chunks, retry_after_ms))

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve on a free loopback port; yields the Azure endpoint URL (OpenAI dialect: URL + `v1`)."""
        # Cancelling on disconnect, as production does, so a hang-up is seen even while silent.
        runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()  # hundreds connect at once
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
        finally:
            await runner.cleanup()

    async def next_request(self) -> SimulatedRequest:
        assert self.record, "only Simulator(record=True) keeps requests"
        return await self._arrivals.get()

    def forget(self) -> None:
        """Drop the records of past requests (long runs keep memory flat)."""
        self.requests.clear()
        self._arrivals = asyncio.Queue()

    def answer(self, body: dict[str, Any]) -> str:
        if self._scripts:
            return self._scripts.popleft()
        messages = body.get("messages") or body.get("input") or []
        question = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        return answer_for(question if isinstance(question, str) else "")

    def profile_of(self, deployment: str) -> ModelProfile:
        return PROFILES[self.profiles.get(deployment, self.profile)]

    async def _connection_policy(self, request: web.Request, response: web.StreamResponse) -> None:
        if not self.keep_alive:
            response.force_close()

    def _azure_key_refused(self, request: web.Request) -> web.Response | None:
        bearer = _bearer(request)
        if (
            request.headers.get(API_KEY_HEADER) == self.api_key
            or bearer == self.api_key
            or bearer in self.bearer_tokens
        ):
            return None
        return wire.error_response(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.")

    async def _classic_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._azure(request, "chat", request.match_info["deployment"], classic=True)

    async def _classic_responses(self, request: web.Request) -> web.StreamResponse:
        return await self._azure(request, "responses", None, classic=True)

    async def _v1_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._azure(request, "chat", None, classic=False)

    async def _v1_responses(self, request: web.Request) -> web.StreamResponse:
        return await self._azure(request, "responses", None, classic=False)

    async def _azure(
        self, request: web.Request, dialect: Dialect, deployment: str | None, *, classic: bool
    ) -> web.StreamResponse:
        if refused := self._azure_key_refused(request):
            return refused
        api_version = request.query.get("api-version")
        if classic and api_version is None:
            return wire.error_response(404, "404", "Resource not found")
        return await self._answer(request, dialect, deployment, api_version, azure=True)

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        """The plain chat-completions dialect of OpenAI and of self-hosted servers: no content filters."""
        if _bearer(request) != self.api_key:
            return wire.error_response(401, "invalid_api_key", "Incorrect API key provided.")
        return await self._answer(request, "chat", None, None, azure=False)

    async def _answer(
        self, request: web.Request, dialect: Dialect, deployment: str | None, api_version: str | None, *, azure: bool
    ) -> web.StreamResponse:
        body = await request.json()
        record = SimulatedRequest(
            request.path, dict(request.headers) if self.record else {}, body, query=request.query_string
        )
        if self.record:
            self.requests.append(record)
            self._arrivals.put_nowait(record)
        self.open_requests += 1
        try:
            if self.hold is not None:
                await self.hold.wait()
            profile = self.profile_of(deployment or str(body.get("model")))
            if refused := refusal(profile, dialect, body, api_version):
                return refused
            planned = self._faults.popleft() if self._faults else None
            if planned and (refuse := REFUSALS.get(planned.fault)):
                return refuse(planned)
            answer = self.answer(body)
            if not body.get("stream"):
                return web.json_response(wire.completion(answer))
            pace = Pace(self.token_delay, self.first_token_delay, self.thinking_time, self.split_frames)
            if dialect == "responses":
                return await stream_responses(request, record, answer, planned, profile, pace)
            return await stream_chat(request, record, answer, planned, profile, pace, azure=azure)
        except (asyncio.CancelledError, ConnectionError):
            record.hung_up = True
            raise
        finally:
            self.open_requests -= 1
            record.ended_at = time.monotonic()
            record.ended.set()


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme == "Bearer" else None
