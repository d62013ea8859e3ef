"""widget.js on a host page of another origin, under the host's strict CSP: the Ask button opens the
chat in a panel that follows its content's height, takes context and questions, tells the host of
answers, keeps focus inside while open, and closes on Esc or a click outside, focus back on Ask."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from playwright.async_api import expect

from chat import Settings, create_app
from chat.simulator import Simulator

from .host_pages import Server, serve_pages
from .pages import OpenChat, within

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Helpdesk</title></head>
<body><h1>Ticket 42: the printer is on fire</h1>
<label>Notes <input id="notes"></label>
<script src="/before.js"></script>
<script src="{chat}/widget.js"></script>
<script src="/host.js"></script>
</body></html>"""
BEFORE = "window.namesBefore = Object.getOwnPropertyNames(window);"
HOST_SCRIPT = """
const seen = [...namesBefore, "namesBefore"];
window.addedByWidget = Object.getOwnPropertyNames(window).filter((name) => !seen.includes(name));
window.heard = [];
for (const type of ["ready", "answer-started", "answer-finished", "resize"]) {
  ChatWidget.on(type, (message) => heard.push(message));
}
"""
LONG_ANSWER = "\\n\\n".join(f"Step {n}: keep calm and read the manual, page {n}." for n in range(1, 16))


async def test_widget_opens_the_chat_over_a_host_page(
    open_chat: OpenChat, aiohttp_server: Server, settings: Settings, simulator: Simulator, output_dir: Path
) -> None:
    pages = {
        "/": ("text/html", ""),
        "/before.js": ("text/javascript", BEFORE),
        "/host.js": ("text/javascript", HOST_SCRIPT),
    }
    host_csp: dict[str, str] = {}
    host = await serve_pages(aiohttp_server, pages, headers=host_csp)
    chat_server = await aiohttp_server(create_app(dataclasses.replace(settings, frame_ancestors=f"'self' {host}")))
    chat = str(chat_server.make_url("")).rstrip("/")
    pages["/"] = ("text/html", HOST_PAGE.format(chat=chat))
    # The lines docs/embedding.md gives a host: the chat's origin in script-src and frame-src; nothing for styles.
    host_csp["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {chat}; frame-src {chat}; style-src 'self'; object-src 'none'"
    )

    page = await open_chat(host + "/", ready=False, viewport={"width": 1100, "height": 800})
    host_page = page.page
    widget = await host_page.request.get(chat + "/widget.js")
    assert widget.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert widget.headers["cross-origin-resource-policy"] == "cross-origin"

    ask = host_page.locator("button.ask")
    panel = host_page.locator("div.panel")
    close = host_page.locator("button.close")
    await expect(ask).to_have_text("Ask")
    assert await host_page.evaluate("window.addedByWidget") == ["ChatWidget"]
    assert (
        await host_page.evaluate(
            "document.styleSheets.length + document.adoptedStyleSheets.length"
            " + document.querySelectorAll('[style]').length"
        )
        == 0
    )

    await ask.click()
    await expect(panel).to_be_visible()
    framed = page.framed("iframe[title=Chat]")
    await host_page.wait_for_function("() => heard.some((m) => m.type === 'chat:v1:ready')")
    await expect(framed.input).to_be_focused()  # open: the message box takes the typing

    await host_page.evaluate("ChatWidget.setContext('Ticket 42: the printer is on fire')")
    await expect(framed.scope.locator("#host-context-text")).to_contain_text("Ticket 42: the printer is on fire")
    simulator.script(LONG_ANSWER)
    await host_page.evaluate("ChatWidget.ask('What do I do?')")
    request = await within(simulator.next_request())
    assert request.body["messages"][-2]["content"].endswith("Ticket 42: the printer is on fire")
    await framed.wait_done()
    await host_page.wait_for_function("() => heard.some((m) => m.type === 'chat:v1:answer-finished')")
    finished = await host_page.evaluate("heard.find((m) => m.type === 'chat:v1:answer-finished')")
    assert finished["status"] == "done" and finished["usage"]["total_tokens"] > 0
    assert await host_page.evaluate("heard.some((m) => m.type === 'chat:v1:answer-started')")
    # The frame grew with the answer, up to the room the window leaves it.
    frame_box = host_page.locator("iframe[title=Chat]")
    await expect(frame_box).to_have_js_property("offsetHeight", 800 - 140)
    await host_page.screenshot(path=output_dir / "widget-open.png")

    # Focus stays in the panel: back from Close goes into the chat, on from its last control to Close.
    await close.focus()
    await host_page.keyboard.press("Shift+Tab")
    assert await host_page.evaluate("document.querySelector('body > div').shadowRoot.activeElement.tagName") == "IFRAME"
    frame = next(frame for frame in host_page.frames if "/embed" in frame.url)
    await frame.evaluate(
        """[...document.querySelectorAll("a[href], button, input, textarea, select, summary, [tabindex]")]
             .filter((e) => e.tabIndex >= 0 && !e.disabled && e.checkVisibility()).at(-1).focus()"""
    )
    await host_page.keyboard.press("Tab")
    await expect(close).to_be_focused()

    # Esc in the chat, with nothing there to stop: the panel closes and Ask has the focus again.
    await framed.input.focus()
    await host_page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(ask).to_be_focused()
    await expect(ask).to_have_attribute("aria-expanded", "false")

    # A click outside closes it; focus goes where the click put it.
    await ask.click()
    await expect(panel).to_be_visible()
    await host_page.locator("#notes").click()
    await expect(panel).to_be_hidden()
    await expect(host_page.locator("#notes")).to_be_focused()

    # Esc on the host page closes it too.
    await ask.click()
    await close.focus()
    await host_page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(ask).to_be_focused()
