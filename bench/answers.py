"""Known answers: each question names the answer the simulator gives, so every relayed text can be checked."""

from __future__ import annotations

import re
from typing import Any

from chat.simulator import Simulator

QUESTION = re.compile(r"^bench (?P<label>\S+) stream (?P<number>\d+): (?P<words>\d+) words$")

# Every word is one simulator token (at most five characters after one separator), and together
# they exercise what a relay can get wrong: multi-byte UTF-8, JSON escapes, markup, newlines.
WORDS = ("relay", "naïve", "日本語", "🚀ok", '"q"', "a\\b", "<b>", "x&y", "tab\t", "ünï", "{}", "😀", "end.")


def question(label: str, number: int, words: int) -> str:
    return f"bench {label} stream {number}: {words} words"


def answer_to(text: str) -> str | None:
    """The exact answer to a benchmark question, or None for any other text."""
    match = QUESTION.match(text)
    if match is None:
        return None
    number, count = int(match["number"]), int(match["words"])
    pieces = [f"#{number % 10_000}"]
    for index in range(1, count):
        separator = "\n" if index % 17 == 0 else " "
        pieces.append(separator + WORDS[(number + index * 7) % len(WORDS)])
    return "".join(pieces)


class BenchSimulator(Simulator):
    """The simulated upstream, answering benchmark questions with their known answers."""

    def answer(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or []
        last = messages[-1].get("content") if messages else None
        known = answer_to(last) if isinstance(last, str) else None
        return known if known is not None else super().answer(body)
