"""What the browser tests drive: the chat page and its gestures, the screens it is seen on, the
answers they script, and the problems a page must not have (console errors, CSP violations)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from playwright.async_api import ConsoleMessage, Error, FrameLocator, Locator, Page, expect

from chat.simulator import SimulatedRequest, Simulator

TIMEOUT_MS = 10_000
EVENT_TIMEOUT = 10.0  # seconds, for the simulator's records

# Reports every Content-Security-Policy violation (in every frame) to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({directive: event.violatedDirective, blocked: event.blockedURI,
                               sample: event.sample, source: event.sourceFile, line: event.lineNumber});
}, true);
"""
# Chromium logs every non-2xx fetch as a console error; the page's favicon is not ours to serve.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")

SECONDS = re.compile(r"^\d+ s$")  # the thinking time as the page shows it

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

CODE = """async def relay(upstream, client):
    async for chunk in upstream:
        await client.send(chunk)  # one frame per read
"""
MARKDOWN_ANSWER = f"""## Streaming, step by step

The relay copies each token to the browser **as soon as it arrives**, and `Stop` closes the upstream.

1. The browser posts the conversation.
2. The server opens one upstream stream.
3. Each read leaves as one frame.

```python
{CODE}```

| Event | Data | When |
|---|---|---|
| `delta` | text | while the model writes |
| `done` | finish reason | at the end |
| `error` | code and message | on failure |

See [the protocol](https://example.com/protocol) for the details.
"""

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float = EVENT_TIMEOUT) -> T:
    return await asyncio.wait_for(awaitable, seconds)


@dataclasses.dataclass
class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by one browser context."""

    problems: list[str] = dataclasses.field(default_factory=list)
    expected_statuses: set[int] = dataclasses.field(default_factory=set)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = FAILED_LOAD.match(message.text)
        url = message.location.get("url", "")
        if failed and url.endswith("/favicon.ico") and failed.group(1) == "404":
            return
        asked = url.endswith("/api/chat") or "/api/answers/" in url  # an answer asked for, or followed again
        if failed and asked and int(failed.group(1)) in self.expected_statuses:
            return
        self.problems.append(f"console error: {message.text} ({url})")

    def on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught: {error}")

    def on_csp_violation(self, source: Any, violation: dict[str, Any]) -> None:
        self.problems.append(f"CSP violation: {violation}")


class ChatPage:
    """One open chat page and the few gestures the tests need."""

    def __init__(self, page: Page, problems: PageProblems, scope: Page | FrameLocator | None = None) -> None:
        self.page = page
        self.problems = problems
        scope = scope or page  # a FrameLocator when the chat is framed in a host page
        self.scope = scope
        self.input = scope.locator("#composer-input")
        self.send_button = scope.locator("#send")
        self.stop_button = scope.locator("#stop")
        self.messages = scope.locator("#messages > article")
        self.answers = scope.locator("#messages > article.message-assistant")
        self.conversations = scope.locator("#conversation-list > li")

    def framed(self, selector: str) -> ChatPage:
        """The chat inside the `<iframe>` that `selector` finds on this page."""
        return ChatPage(self.page, self.problems, self.page.frame_locator(selector))

    def expect_http_error(self, status: int) -> None:
        """The chat request (or an answer's) is meant to fail with `status` (Chromium logs it as a console error)."""
        self.problems.expected_statuses.add(status)

    @property
    def last_answer(self) -> Locator:
        return self.answers.last

    def answer_body(self, answer: Locator | None = None) -> Locator:
        return (answer or self.last_answer).locator(".message-body")

    async def send(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")

    async def wait_done(self, answer: Locator | None = None) -> None:
        answer = answer or self.last_answer
        await expect(answer).to_have_attribute("data-status", "done")
        await expect(self.send_button).to_be_visible()

    async def paragraphs(self, answer: Locator | None = None) -> list[str]:
        return await self.answer_body(answer).locator("p").all_text_contents()


async def ask(chat: ChatPage, simulator: Simulator, question: str, answer: str) -> SimulatedRequest:
    """Send `question`, have it answered with `answer`, and wait until the answer is drawn whole."""
    simulator.script(answer)
    await chat.send(question)
    record = await within(simulator.next_request())
    await chat.wait_done()
    return record


async def press_stop(chat: ChatPage, how: str) -> None:
    """Stop the answer the way a person does: the `button`, or Esc."""
    if how == "button":
        await chat.stop_button.click()
    else:
        await chat.page.keyboard.press("Escape")


OpenChat = Callable[..., Awaitable[ChatPage]]
