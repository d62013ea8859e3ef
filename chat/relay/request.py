"""The body of `POST /api/chat`, checked before any upstream work: every refusal is a clear 4xx."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
from aiohttp import web

from chat.access.client_access import ClientAccess
from chat.config.settings import Settings
from chat.conversations.drafts import conversation_id
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.upstream.messages import Message

ROLES = frozenset({"user", "assistant", "system"})
MESSAGE_FIELDS = frozenset({"role", "content"})
# Request headers are kept as bytes and as text for as long as the answer streams: a total
# beyond nginx's default buffers (4 x 8 KiB) is refused, so aiohttp's own limits (128 lines of up
# to 8 KiB) cannot make every open stream cost two megabytes.
MAX_HEADER_BYTES = 32 * 1024
# `max_tokens` is the older name of `max_completion_tokens`, still accepted from clients.
# `conversation_id`: the conversation a signed-in client's server keeps the question and answer in.
BODY_FIELDS = frozenset(
    {"messages", "max_completion_tokens", "max_tokens", "deployment", "preset", "resumable", "conversation_id"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: list[Message]
    max_tokens: int | None
    deployment: str
    system_prompt: str
    reasoning_effort: str | None = None  # None: the deployment's setting (CHAT_REASONING_EFFORT)
    preset: str | None = None
    resumable: bool = False  # kept by the server for a reader that comes back (chat/answers/)
    conversation_id: str | None = None  # where the server keeps the turn (chat/conversations/)


async def read_chat_request(request: web.Request, settings: Settings, access: ClientAccess) -> ChatRequest:
    if sum(len(name) + len(value) for name, value in request.raw_headers) > MAX_HEADER_BYTES:
        raise ChatError(catalogue.HEADERS_TOO_LARGE, limit=MAX_HEADER_BYTES)
    if request.content_type != "application/json":
        raise ChatError(catalogue.UNSUPPORTED_MEDIA_TYPE)
    try:
        async with asyncio.timeout(settings.body_timeout):  # before a stream place: it holds a connection
            body = await _read_body(request, settings.max_body_bytes)
    except TimeoutError:
        raise ChatError(catalogue.REQUEST_TIMEOUT) from None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ChatError(catalogue.INVALID_JSON) from None
    return check_chat_request(document, settings, access)


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_large = ChatError(catalogue.BODY_TOO_LARGE, limit=limit)
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def check_chat_request(document: object, settings: Settings, access: ClientAccess) -> ChatRequest:
    if not isinstance(document, dict):
        raise _invalid("The request body must be a JSON object with a `messages` list.")
    if unknown := set(document) - BODY_FIELDS:
        raise _invalid(
            f"Unknown field {sorted(unknown)[0]!r}; only `messages`, `max_completion_tokens`, `deployment`, "
            "`preset`, `resumable` and `conversation_id` are accepted."
        )
    resumable = document.get("resumable", False)
    if not isinstance(resumable, bool):
        raise _invalid("`resumable` must be true or false.")
    conversation = document.get("conversation_id")
    if conversation is not None:
        conversation = conversation_id(conversation, "conversation_id")
    if "max_completion_tokens" in document and "max_tokens" in document:
        raise _invalid("Send `max_completion_tokens` only; `max_tokens` is its older name.")
    preset = access.preset(document.get("preset"))
    offered = preset.deployments if preset and preset.deployments else settings.deployments
    locked = settings.system_prompt_locked or (preset is not None and preset.system_prompt is not None)
    return ChatRequest(
        _check_messages(document.get("messages"), settings, locked=locked),
        _check_max_tokens(
            document.get("max_completion_tokens", document.get("max_tokens")),
            preset.max_tokens if preset and preset.max_tokens else settings.max_tokens,
            preset.max_tokens if preset and preset.max_tokens else settings.token_ceiling,
        ),
        _check_deployment(document.get("deployment"), offered, access),
        preset.system_prompt if preset and preset.system_prompt else settings.system_prompt,
        preset.reasoning_effort if preset else None,
        preset.name if preset else None,
        resumable,
        conversation,
    )


def _check_deployment(value: object, offered: tuple[str, ...], access: ClientAccess) -> str:
    allowed = [deployment for deployment in offered if access.may_use_deployment(deployment)]
    if value is None:
        if not allowed:
            raise ChatError(catalogue.NO_DEPLOYMENT_OPEN)
        return allowed[0]
    if not isinstance(value, str) or value not in offered:
        raise ChatError(catalogue.UNKNOWN_DEPLOYMENT, name=value, offered=", ".join(allowed))
    if value not in allowed:
        raise ChatError(catalogue.FORBIDDEN_DEPLOYMENT, name=value)
    return value


def _check_max_tokens(value: object, default: int | None, ceiling: int) -> int | None:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _invalid("`max_completion_tokens` must be a positive whole number.")
    if value > ceiling:
        raise ChatError(catalogue.MAX_TOKENS_TOO_LARGE, ceiling=ceiling)
    return value


def _check_messages(messages: object, settings: Settings, *, locked: bool) -> list[Message]:
    if not isinstance(messages, list) or not messages:
        raise _invalid("`messages` must be a non-empty list.")
    if len(messages) > settings.max_messages:
        raise ChatError(catalogue.TOO_MANY_MESSAGES, count=len(messages), limit=settings.max_messages)
    conversation: list[Message] = []
    total = 0
    for position, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or set(message) != MESSAGE_FIELDS:
            raise _invalid(f"Message {position} must be an object with exactly `role` and `content`.")
        role, content = message["role"], message["content"]
        if not isinstance(role, str) or role not in ROLES:
            raise _invalid(f"Message {position} has role {role!r}; use user, assistant or system.")
        if role == "system" and locked:
            raise ChatError(catalogue.SYSTEM_PROMPT_LOCKED)
        if not isinstance(content, str):
            raise _invalid(f"Message {position} must have text `content`.")
        if len(content) > settings.max_message_chars:
            raise ChatError(
                catalogue.MESSAGE_TOO_LONG, position=position, length=len(content), limit=settings.max_message_chars
            )
        total += len(content)
        conversation.append({"role": role, "content": content})
    if total > settings.max_total_chars:
        raise ChatError(catalogue.CONVERSATION_TOO_LONG, total=total, limit=settings.max_total_chars)
    if conversation[-1]["role"] != "user" or not conversation[-1]["content"].strip():
        raise _invalid("The last message must be a non-empty message from the user.")
    return conversation


def with_system_prompt(conversation: list[Message], system_prompt: str) -> list[Message]:
    if any(message["role"] == "system" for message in conversation):
        return conversation
    return [{"role": "system", "content": system_prompt}, *conversation]


def _invalid(message: str) -> ChatError:
    return ChatError(catalogue.INVALID_REQUEST, detail=message)
