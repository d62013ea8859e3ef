"""Errors as values at the edge: a stable code, a message written for people, an HTTP status.

Each code and each of its messages is declared once, in `catalogue.py`; a `ChatError` is raised
from one of those messages, with the values its template names:

    raise ChatError(catalogue.TOO_MANY_MESSAGES, count=12, limit=10)
"""

from __future__ import annotations

import dataclasses
import string
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorCode:
    """A code the client is told, with the HTTP status it comes with, and for the documentation
    when it happens and what to do about it."""

    code: str
    status: int
    when: str
    what_to_do: str
    in_stream: bool = False  # may also come as the stream's `error` event, after the answer began


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorMessage:
    """One message of a code: a `str.format` template whose fields the raiser fills in."""

    kind: ErrorCode
    template: str
    fields: frozenset[str] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        names = {name for _, name, _, _ in string.Formatter().parse(self.template) if name is not None}
        if not all(name.isidentifier() for name in names):
            raise ValueError(f"{self.template!r}: fields are plain names")
        object.__setattr__(self, "fields", frozenset(names))

    def render(self, values: dict[str, object]) -> str:
        if missing := self.fields - values.keys():
            raise TypeError(f"{self.kind.code}: the message needs {', '.join(sorted(missing))}")
        if extra := values.keys() - self.fields - {"retry_after"}:
            raise TypeError(f"{self.kind.code}: the message has no {', '.join(sorted(extra))}")
        return self.template.format(**values)


class Declarations:
    """The catalogue as it is declared: each code once, each message of a code."""

    def __init__(self) -> None:
        self.codes: list[ErrorCode] = []
        self.messages: list[ErrorMessage] = []

    def code(self, code: str, status: int, *, when: str, what_to_do: str, in_stream: bool = False) -> ErrorCode:
        if any(known.code == code for known in self.codes):
            raise ValueError(f"the error code {code!r} is declared twice")
        self.codes.append(declared := ErrorCode(code, status, when, what_to_do, in_stream))
        return declared

    def says(self, kind: ErrorCode, template: str) -> ErrorMessage:
        self.messages.append(message := ErrorMessage(kind, template))
        return message

    def one(
        self, code: str, status: int, template: str, *, when: str, what_to_do: str, in_stream: bool = False
    ) -> ErrorMessage:
        """A code with a single message."""
        return self.says(self.code(code, status, when=when, what_to_do=what_to_do, in_stream=in_stream), template)


class ChatError(Exception):
    """A failure the client is told about, before the stream (HTTP error) or during it (SSE event).

    `retry_after` (seconds) becomes the `Retry-After` header and field, and fills a `{retry_after}`
    of the template; any other value the template names is given by keyword."""

    def __init__(self, said: ErrorMessage, *, retry_after: int | None = None, **values: object) -> None:
        if retry_after is not None:
            values["retry_after"] = retry_after
        message = said.render(values)
        super().__init__(message)
        self.kind = said.kind
        self.code = said.kind.code
        self.status = said.kind.status
        self.message = message
        self.retry_after = retry_after
        self.headers: dict[str, str] = {}
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)

    def payload(self) -> dict[str, Any]:
        """The error as the client reads it: the body's `error` before the stream, the `error` event in it."""
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            payload["retry_after"] = self.retry_after
        return payload
