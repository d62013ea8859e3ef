"""What an upstream stream hands to the relay: typed events, the same for every API dialect.

A failure is not an event: the stream raises `ChatError`, after the text that came before it.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class TextDelta:
    """The answer's text that one upstream read carried (many tokens when the reader is slow)."""

    content: str


@dataclasses.dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's summary of its reasoning, which comes before the answer."""

    content: str


@dataclasses.dataclass(frozen=True, slots=True)
class Finished:
    """The answer ended as the model meant it to."""

    finish_reason: str
    usage: dict[str, Any] | None


StreamEvent = TextDelta | ReasoningDelta | Finished
