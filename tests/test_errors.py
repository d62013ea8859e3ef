"""The error catalogue: each code declared once, the messages filled in as declared, and the
documentation's table made from it and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.accounting.metrics import OUTCOMES
from chat.errors import ChatError, catalogue, error_response
from chat.errors.document import COMMAND, table

DOCUMENT = Path(__file__).parent.parent / "docs" / "errors.md"


def test_the_error_table_is_current() -> None:
    written = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    assert written == table(), f"docs/errors.md is not the catalogue's: run `{COMMAND}`"


def test_each_code_once_with_its_messages() -> None:
    codes = [kind.code for kind in catalogue.CODES]
    assert len(codes) == len(set(codes))
    assert {message.kind for message in catalogue.MESSAGES} == set(catalogue.CODES)  # none without a message
    assert all(400 <= kind.status < 600 for kind in catalogue.CODES)


def test_the_metrics_know_every_code() -> None:
    assert {kind.code for kind in catalogue.CODES} <= OUTCOMES


def test_a_message_is_filled_in_as_declared() -> None:
    error = ChatError(catalogue.RATE_LIMITED, amount=30, retry_after=7)
    assert (error.status, error.code, error.headers) == (429, "rate_limited", {"Retry-After": "7"})
    assert error.payload() == {
        "code": "rate_limited",
        "message": "You have sent 30 messages in the last minute. Try again in 7 seconds.",
        "retry_after": 7,
    }
    with pytest.raises(TypeError, match="needs limit"):
        ChatError(catalogue.TOO_MANY_MESSAGES, count=12)
    with pytest.raises(TypeError, match="has no reason"):
        ChatError(catalogue.SERVER_BUSY, reason="because")


def test_the_response_before_the_stream() -> None:
    response = error_response(ChatError(catalogue.BODY_TOO_LARGE, limit=1000))
    assert (response.status, response.content_type) == (413, "application/json")
    assert response.body == (
        b'{"error":{"code":"body_too_large","message":"The request body is larger than 1000 bytes."}}'
    )
