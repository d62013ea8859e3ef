"""A strict reader of our event streams for tests, independent of the server's own decoder."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aiohttp


@dataclasses.dataclass
class Event:
    name: str
    data: Any


async def read_events(response: aiohttp.ClientResponse) -> tuple[list[Event], list[str]]:
    """All events and comment lines of a response, read to its end."""
    body = (await response.read()).decode("utf-8")
    return parse_events(body)


def parse_events(body: str) -> tuple[list[Event], list[str]]:
    assert body.endswith("\n\n"), f"stream does not end with a complete frame: {body[-80:]!r}"
    events: list[Event] = []
    comments: list[str] = []
    for block in body[:-2].split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith(":") for line in lines):
            comments.extend(lines)
            continue
        assert len(lines) == 2, f"frame is not exactly one event line and one data line: {block!r}"
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        events.append(Event(lines[0][7:], json.loads(lines[1][6:])))
    return events, comments


def text_of(events: list[Event]) -> str:
    return "".join(event.data["content"] for event in events if event.name == "delta")


def chat_body(text: str = "Hello") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}
