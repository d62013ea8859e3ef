"""The messaging API of /embed: a host page of another origin sets context, asks, starts a new chat
and sets the theme; the chat tells it when it is ready, when answers start and end, and its height.
A third origin's messages, and unknown types, are ignored."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from playwright.async_api import ConsoleMessage, expect

from chat import Settings, create_app
from chat.simulator import Simulator

from .host_pages import Server, serve_pages
from .pages import OpenChat, within

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ticket 42</title></head>
<body><h1>Ticket 42: the printer is on fire</h1>
<iframe src="{chat}/embed" title="Chat" width="420" height="600"></iframe>
<script src="/host.js"></script>
</body></html>"""

# The host's side, as an internal tool would write it: every message checked by origin and source.
HOST_SCRIPT = """
const chat = document.querySelector("iframe");
const chatOrigin = new URL(chat.src).origin;
window.received = [];
window.addEventListener("message", (event) => {
  if (event.origin === chatOrigin && event.source === chat.contentWindow) window.received.push(event.data);
});
window.toChat = (message) => chat.contentWindow.postMessage(message, chatOrigin);
window.addThirdParty = (src) => {
  const frame = document.createElement("iframe");
  frame.src = src;
  frame.title = "Third party";
  document.body.append(frame);
};
"""

# Another origin on the same host page: it finds the chat's window and posts to it.
THIRD_PAGE = """<!doctype html><html lang="en"><head><title>Ad</title></head><body><script>
parent.frames[0].postMessage({type: "chat:v1:set-context", text: "From a third origin"}, "*");
</script></body></html>"""

DARK_BG = "rgb(22, 24, 29)"
LIGHT_BG = "rgb(255, 255, 255)"


async def test_host_drives_the_framed_chat_and_hears_its_answers(
    open_chat: OpenChat, aiohttp_server: Server, settings: Settings, simulator: Simulator
) -> None:
    host_pages = {"/": ("text/html", ""), "/host.js": ("text/javascript", HOST_SCRIPT)}
    host = await serve_pages(aiohttp_server, host_pages)
    third = await serve_pages(aiohttp_server, {"/": ("text/html", THIRD_PAGE)})
    chat_server = await aiohttp_server(create_app(dataclasses.replace(settings, frame_ancestors=f"'self' {host}")))
    chat_origin = str(chat_server.make_url("")).rstrip("/")
    host_pages["/"] = ("text/html", HOST_PAGE.format(chat=chat_origin))
    assert len({host, third, chat_origin}) == 3  # three origins: three ports

    page = await open_chat(host + "/", ready=False, viewport={"width": 1000, "height": 800})
    chat = page.framed("iframe[title=Chat]")
    host_page = page.page

    async def received(kind: str, count: int = 1) -> list[dict[str, Any]]:
        """The messages of type `chat:v1:<kind>` the host received, once there are `count` of them."""
        kind = f"chat:v1:{kind}"
        await host_page.wait_for_function(
            "([kind, count]) => window.received.filter((m) => m.type === kind).length >= count", arg=[kind, count]
        )
        messages: list[dict[str, Any]] = await host_page.evaluate("window.received")
        return [message for message in messages if message["type"] == kind]

    async def to_chat(message: dict[str, Any]) -> None:
        await host_page.evaluate("(message) => window.toChat(message)", message)

    def warned(origin: str) -> Any:
        def match(message: ConsoleMessage) -> bool:
            return message.type == "warning" and f"ignored a message from {origin}" in message.text

        return host_page.expect_console_message(match)

    assert await received("ready") == [{"type": "chat:v1:ready"}]
    [first_size, *_] = await received("resize")
    assert first_size["height"] > 0

    # A third origin on the host's page posts to the chat: ignored, and said so in the console.
    async with warned(third):
        await host_page.evaluate("(src) => window.addThirdParty(src)", third + "/")
    # The host itself, with a type the chat does not know: ignored too.
    async with warned(host) as unknown:
        await to_chat({"type": "chat:v1:run-script", "code": "alert(1)"})
    assert "unknown type" in (await unknown.value).text
    await expect(chat.scope.locator("#host-context")).to_be_hidden()

    # Context: shown as a chip; sent before the question as a marked message.
    await to_chat({"type": "chat:v1:set-context", "text": "Ticket 42: the printer is on fire"})
    host_name = host.removeprefix("http://")
    await expect(chat.scope.locator("#host-context-text")).to_have_text(
        f"Context from {host_name}: Ticket 42: the printer is on fire"
    )
    simulator.script("Call facilities, then leave the building.")
    await to_chat({"type": "chat:v1:prefill", "text": "What do I do?", "send": True})
    request = await within(simulator.next_request())
    assert [message["content"] for message in request.body["messages"]][-2:] == [
        f"Context from {host_name} (the page the person is using; they did not write it):\n"
        "Ticket 42: the printer is on fire",
        "What do I do?",
    ]
    await chat.wait_done()
    assert await received("answer-started") == [{"type": "chat:v1:answer-started"}]
    [finished] = await received("answer-finished")
    assert finished["status"] == "done" and finished["error"] is None
    assert finished["usage"]["total_tokens"] > 0
    await expect(chat.messages.first.locator(".message-context")).to_have_text(
        f"With context from {host_name}: Ticket 42: the printer is on fire"
    )
    # The content grew with the answer: the host heard a taller height.
    sizes = await received("resize", 2)
    assert sizes[-1]["height"] > first_size["height"], json.dumps(sizes)

    # The person removes the context: the host hears it; the next question goes without.
    await chat.scope.locator("#host-context-remove").click()
    await expect(chat.scope.locator("#host-context")).to_be_hidden()
    assert await received("context-removed") == [{"type": "chat:v1:context-removed"}]

    # Prefill without send: the text waits in the box.
    await to_chat({"type": "chat:v1:prefill", "text": "A draft"})
    await expect(chat.input).to_have_value("A draft")

    # Light and dark as the host asks, whatever the system says.
    background = "getComputedStyle(document.body).backgroundColor"
    frame = next(frame for frame in host_page.frames if frame.url.endswith("/embed"))
    await to_chat({"type": "chat:v1:set-theme", "theme": "dark"})
    await frame.wait_for_function(f"{background} === '{DARK_BG}'")
    await to_chat({"type": "chat:v1:set-theme", "theme": "light"})
    await frame.wait_for_function(f"{background} === '{LIGHT_BG}'")

    # A new chat.
    await to_chat({"type": "chat:v1:new-chat"})
    await expect(chat.messages).to_have_count(0)
    assert await chat.scope.locator("#host-context").is_hidden()
