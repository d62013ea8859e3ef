"""Answers that once froze the tab (a 200,000-character word, a 500-level nested list) are drawn, as
plain text with a note, and the page stays responsive; a long markdown answer is drawn whole. How fast
is the page benchmark's question (`python -m bench.page`): no timing is asserted here."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from chat.simulator import Simulator

from .pages import ChatPage, OpenChat, within

LONG_WORD = "word_" * 40_000
NESTED_LIST = "".join("  " * depth + f"- level {depth}\n" for depth in range(500))

SECTION = """## Part {n}

Some **bold** text, a list and a table.

- one
- two

```python
print({n})
```

| a | b |
|---|---|
| {n} | x |

"""


async def responsive(chat: ChatPage) -> None:
    """The page still draws frames and runs its handlers: the box takes typing and the list opens."""
    await chat.page.evaluate("new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve)))")
    await chat.input.fill("still here")
    await expect(chat.input).to_have_value("still here")


@pytest.mark.parametrize(
    ("answer", "note"),
    [(LONG_WORD, "a word of 200,000 characters"), (NESTED_LIST, "levels deep")],
    ids=["200,000-character word", "500-level nested list"],
)
async def test_hard_answers_are_shown_as_plain_text(
    open_chat: OpenChat, chat_url: str, simulator: Simulator, answer: str, note: str
) -> None:
    chat = await open_chat(chat_url)
    simulator.script(answer)
    await chat.send("Something hard")
    await within(simulator.next_request())
    await chat.wait_done()
    for _ in range(2):  # as streamed, then drawn again from storage
        body = chat.answer_body()
        await expect(body.locator(".plain-text-note")).to_contain_text(note)
        assert await body.locator(".plain-text").text_content() == answer
        await expect(body.locator("li")).to_have_count(0)
        await responsive(chat)
        await chat.page.reload()
        await expect(chat.answers).to_have_count(1)


async def test_a_long_markdown_answer_is_drawn_whole(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    answer = "".join(SECTION.format(n=n) for n in range(60)) + "The end."
    simulator.token_delay = 0.0005
    simulator.script(answer)
    chat = await open_chat(chat_url)
    await chat.send("Write a long answer")
    await within(simulator.next_request())
    await chat.wait_done()
    body = chat.answer_body()
    await expect(body.locator("h2")).to_have_count(60)
    await expect(body.locator("table")).to_have_count(60)
    await expect(body.locator(".code-block")).to_have_count(60)
    await expect(body.locator("pre code.hljs")).to_have_count(60)  # coloured, the last block too
    await expect(body.locator("p").last).to_have_text("The end.")
    assert await body.locator(".markdown-open").count() == 0
    assert [text.strip() for text in await body.locator("pre").all_text_contents()] == [
        f"print({n})" for n in range(60)
    ]
