"""Accessibility: axe-core finds nothing on an answer with task lists, code, tables and formulas (light
and dark); focus rings show whole in the conversation list; the message box's edge keeps 3:1; a screen
reader hears that an answer began and ended, not each word; Enter during an answer says why nothing
was sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from chat.simulator import Fault, Simulator

from .pages import OpenChat, ask, within

# axe-core from the npm registry, kept with its licence (MPL-2.0) beside it.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"

RICH_ANSWER = """## Plan

- [x] write the relay
- [ ] measure it
- [ ] ship it

```python
def relay(chunks):
    for chunk in chunks:
        yield chunk  # one token at a time, and a comment long enough that the line runs past the box's edge
```

| Event | Data | When | Where | Who | Why |
|---|---|---|---|---|---|
| `delta` | text | while the model writes | in the stream | the relay | to show the answer as it is written |
| `done` | finish reason | at the end | in the stream | the relay | to say how it ended |

The mean is $\\bar x = \\frac{1}{n}\\sum_i x_i$, see [the docs](https://example.com/docs).
"""

CONTRAST = """(selector) => {
  const channels = (color) => color.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const luminance = (color) => {
    const [r, g, b] = channels(color).map((value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const node = document.querySelector(selector);
  const style = getComputedStyle(node);
  let backdrop = node.parentElement;
  while (getComputedStyle(backdrop).backgroundColor === "rgba(0, 0, 0, 0)") backdrop = backdrop.parentElement;
  const edge = luminance(style.borderTopColor);
  const behind = luminance(getComputedStyle(backdrop).backgroundColor);
  const [light, dark] = [edge, behind].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""

# Whether the focus ring of the focused element lies inside the box of its nearest scrolling ancestor.
RING_INSIDE_CLIP = """() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  const reach = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
  const ring = node.getBoundingClientRect();
  let clip = node.parentElement;
  while (clip && !/(auto|scroll|hidden)/.test(getComputedStyle(clip).overflow)) clip = clip.parentElement;
  const box = clip.getBoundingClientRect();
  return style.outlineStyle !== "none" && ring.left - reach >= box.left && ring.right + reach <= box.right
    && ring.top - reach >= box.top && ring.bottom + reach <= box.bottom;
}"""


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=AXE)
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations.map(
             (violation) => ({ id: violation.id, impact: violation.impact,
                               nodes: violation.nodes.map((node) => node.target.join(" ")) }))"""
    )
    return violations


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_axe_finds_nothing_on_a_rich_answer(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, color_scheme: str
) -> None:
    # axe is put in as an inline script, which the page's CSP refuses: this context lets it in.
    chat = await open_chat(chat_url, bypass_csp=True, color_scheme=color_scheme, viewport={"width": 900, "height": 800})
    await ask(chat, simulator, "Plan the relay", RICH_ANSWER)
    body = chat.answer_body()
    await expect(body.locator("pre code.hljs")).to_have_count(1)
    await expect(body.locator(".math-typeset")).to_have_count(1)
    boxes = body.get_by_role("checkbox")
    await expect(boxes).to_have_count(3)
    await expect(body.get_by_role("checkbox", name="write the relay")).to_be_checked()
    assert await axe_violations(chat.page) == []


async def test_focus_rings_show_whole_in_the_conversation_list(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url, viewport={"width": 1100, "height": 700})
    for question in ("First question", "Second question"):
        await ask(chat, simulator, question, "An answer.")
        await chat.page.get_by_role("button", name="New chat").first.click()
    items = chat.page.locator("#conversation-list [data-action='open']")
    await expect(items).to_have_count(2)
    await items.first.focus()
    await chat.page.keyboard.press("Shift+Tab")  # focus by keyboard, so the ring is drawn
    await chat.page.keyboard.press("Tab")
    await expect(items.first).to_be_focused()
    assert await chat.page.evaluate(RING_INSIDE_CLIP)
    await chat.page.keyboard.press("Tab")  # the item's delete button
    assert await chat.page.evaluate("document.activeElement.closest('#conversation-list') !== null")
    assert await chat.page.evaluate(RING_INSIDE_CLIP)


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
async def test_message_box_edge_keeps_three_to_one(open_chat: OpenChat, chat_url: str, color_scheme: str) -> None:
    chat = await open_chat(chat_url, color_scheme=color_scheme)
    assert await chat.page.evaluate(CONTRAST, "#composer-input") >= 3


async def test_screen_readers_hear_an_answer_begin_and_end_not_each_word(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    messages = chat.page.locator("#messages")
    for attribute in ("aria-live", "aria-relevant"):
        assert await messages.get_attribute(attribute) is None
    assert await messages.get_attribute("role") not in ("log", "status", "alert")
    status = chat.page.get_by_role("status").filter(has_text="answer")

    simulator.token_delay = 0.05
    simulator.script("First words, " * 40)
    await chat.send("Talk for a while")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).to_contain_text("First words,")
    await expect(chat.page.locator("#answer-status")).to_have_text("Writing an answer.")
    # The growing text is in no live region: nothing reads each word out.
    live = "node => node.closest('[aria-live], [role=log], [role=status], [role=alert]') === null"
    assert await chat.answer_body().locator("p").first.evaluate(live)
    await chat.stop_button.click()
    await within(record.ended.wait())
    await expect(chat.page.locator("#answer-status")).to_have_text("Answer stopped.")

    simulator.token_delay = 0
    await ask(chat, simulator, "And another", "Done now.")
    await expect(status).to_have_text("Answer finished.")


async def test_enter_during_an_answer_says_why_nothing_was_sent(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    chat = await open_chat(chat_url)
    simulator.fail_next(Fault.STALL, after_chunks=3)  # an answer that is still being written
    await chat.send("Write slowly")
    record = await within(simulator.next_request())
    await expect(chat.answer_body()).not_to_have_text("")
    busy = chat.page.locator("#composer-busy")
    await expect(busy).to_be_hidden()

    await chat.input.fill("My next question")
    await chat.input.press("Enter")
    await expect(busy).to_be_visible()
    await expect(busy).to_have_text(
        "An answer is still being written. Your message stays here: send it when the answer ends, "
        "or press Stop (Esc) to end the answer now."
    )
    await expect(busy).to_have_attribute("role", "status")
    await expect(chat.input).to_have_value("My next question")
    await expect(chat.stop_button).to_be_visible()
    await expect(chat.messages).to_have_count(2)  # nothing was sent

    await chat.page.keyboard.press("Escape")
    await within(record.ended.wait())
    await expect(busy).to_be_hidden()
    simulator.script("Now it is sent.")
    await chat.input.press("Enter")
    await within(simulator.next_request())
    await chat.wait_done()
    assert await chat.paragraphs() == ["Now it is sent."]
