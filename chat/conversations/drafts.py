"""What a client may write as a conversation (`PUT`, `PATCH`) and how it is checked: every refusal a
400 that names the field. The sizes are the chat's own (CHAT_MAX_MESSAGES, CHAT_MAX_MESSAGE_CHARS and
CHAT_MAX_TOTAL_CHARS per conversation, CHAT_MAX_BODY_BYTES per body) and those below."""

from __future__ import annotations

import re
from collections.abc import Sequence

from chat.config.settings import Settings
from chat.conversations.repository import ConversationDraft, StoredMessage
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.upstream.messages import Message

CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the page's ids are UUIDs
MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 128  # of a preset or a deployment
MAX_STATUS_CHARS = 32
STATUS = re.compile(r"[a-z_]{1,32}")
ROLES = frozenset({"user", "assistant", "system"})
CONVERSATION_FIELDS = frozenset({"title", "preset", "deployment", "created", "messages"})
MESSAGE_FIELDS = frozenset({"role", "content", "status", "finish_reason", "reasoning", "created"})
MAX_TIME_MS = 2**53  # what JSON numbers hold exactly
UNTITLED = "New chat"
TITLE_FROM_QUESTION_CHARS = 60  # as the page makes a title (web/static/data/conversation.js)


def invalid(detail: str) -> ChatError:
    return ChatError(catalogue.INVALID_REQUEST, detail=detail)


def conversation_id(value: object, field: str = "id") -> str:
    if not isinstance(value, str) or not CONVERSATION_ID.fullmatch(value):
        raise invalid(f"`{field}` must be 1 to 64 letters, digits, `-` or `_`.")
    return value


def title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("`title` must be non-empty text.")
    if len(value) > MAX_TITLE_CHARS:
        raise invalid(f"`title` has {len(value)} characters; the limit is {MAX_TITLE_CHARS}.")
    return value.strip()


def rename_body(document: object) -> str:
    if not isinstance(document, dict):
        raise invalid('The body must be a JSON object: {"title": "..."}.')
    if unknown := set(document) - {"title"}:
        raise invalid(f"Unknown field {sorted(unknown)[0]!r}; only `title` may be changed here.")
    if "title" not in document:
        raise invalid("`title` is missing.")
    return title(document["title"])


def conversation_body(document: object, settings: Settings) -> ConversationDraft:
    if not isinstance(document, dict):
        raise invalid("The body must be a JSON object with `title` and `messages`.")
    if unknown := set(document) - CONVERSATION_FIELDS:
        raise invalid(
            f"Unknown field {sorted(unknown)[0]!r}; a conversation has `title`, `preset`, `deployment`, "
            "`created` and `messages`."
        )
    for field in ("title", "messages"):
        if field not in document:
            raise invalid(f"`{field}` is missing.")
    messages = _messages(document["messages"], settings)
    return ConversationDraft(
        title(document["title"]),
        _name(document.get("preset"), "preset"),
        _name(document.get("deployment"), "deployment"),
        _time(document.get("created"), "created"),
        messages,
    )


def _name(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_CHARS:
        raise invalid(f"`{field}` must be null or text of 1 to {MAX_NAME_CHARS} characters.")
    return value


def _time(value: object, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_TIME_MS:
        raise invalid(f"`{field}` must be a time in milliseconds since 1970 (a whole number).")
    return value


def _messages(value: object, settings: Settings) -> tuple[StoredMessage, ...]:
    if not isinstance(value, list):
        raise invalid("`messages` must be a list.")
    if len(value) > settings.max_messages:
        raise ChatError(catalogue.TOO_MANY_MESSAGES, count=len(value), limit=settings.max_messages)
    checked = []
    total = 0
    for position, message in enumerate(value, start=1):
        where = f"`messages[{position - 1}]`"
        if not isinstance(message, dict):
            raise invalid(f"{where} must be an object with `role` and `content`.")
        if unknown := set(message) - MESSAGE_FIELDS:
            raise invalid(
                f"{where} has an unknown field {sorted(unknown)[0]!r}; a message has `role`, `content`, "
                "`status`, `finish_reason`, `reasoning` and `created`."
            )
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise invalid(f"{where}.role must be user, assistant or system.")
        if not isinstance(content, str):
            raise invalid(f"{where}.content must be text.")
        reasoning = message.get("reasoning")
        if reasoning is not None and not isinstance(reasoning, str):
            raise invalid(f"{where}.reasoning must be text or null.")
        for text in (content, reasoning or ""):
            if len(text) > settings.max_message_chars:
                raise ChatError(
                    catalogue.MESSAGE_TOO_LONG, position=position, length=len(text), limit=settings.max_message_chars
                )
            total += len(text)
        checked.append(
            StoredMessage(
                str(role),
                content,
                _status(message.get("status"), f"{where}.status"),
                _status(message.get("finish_reason"), f"{where}.finish_reason"),
                reasoning,
                _time(message.get("created"), f"{where}.created") or 0,
            )
        )
    if total > settings.max_total_chars:
        raise ChatError(catalogue.CONVERSATION_TOO_LONG, total=total, limit=settings.max_total_chars)
    return tuple(checked)


def _status(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not STATUS.fullmatch(value):
        raise invalid(f"{field} must be null or 1 to {MAX_STATUS_CHARS} lower-case letters or `_`.")
    return value


def title_for(messages: Sequence[Message]) -> str:
    """A new conversation's title: its first question on one line, shortened (as the page does)."""
    first = next((message["content"] for message in messages if message["role"] == "user"), "")
    line = " ".join(first.split())
    if not line:
        return UNTITLED
    if len(line) <= TITLE_FROM_QUESTION_CHARS:
        return line
    return line[: TITLE_FROM_QUESTION_CHARS - 1].rstrip() + "…"
