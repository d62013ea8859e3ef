"""An answer streams into the page exactly as the model wrote it, and markdown renders safely."""

from __future__ import annotations

from playwright.async_api import expect

from chat.simulator import Simulator
from chat.simulator.answers import tokens

from .pages import CODE, MARKDOWN_ANSWER, ChatPage, OpenChat, within

# Plain text (no markdown syntax) with multi-byte characters: accents, combining marks, CJK,
# right-to-left script, emoji with skin tones, ZWJ sequences and flags. Split into tokens by
# code point, many a UTF-8 sequence is cut across network reads on its way.
PLAIN_PARAGRAPHS = [
    "Grüße aus Köln, naïve café, déjà vu: the relay keeps every character intact. " * 6,
    "日本語のテキストも正しく表示されます。中文也一样，한국어도 마찬가지입니다。 " * 5,
    "Emoji 😀 👍🏽 👩‍💻 👨‍👩‍👧‍👦 🇫🇷 🇯🇵 ❤️ and a combining e\u0301 with Ελληνικά and עברית and العربية. " * 5,
]
PLAIN_ANSWER = "\n\n".join(paragraph.strip() for paragraph in PLAIN_PARAGRAPHS)


async def test_long_plain_answer_appears_exactly(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.token_delay = 0.002
    simulator.script(PLAIN_ANSWER)
    chat = await open_chat(chat_url)
    await expect(chat.page.locator("#simulated-notice")).to_have_count(0)
    await chat.send("Say something long, in many scripts.")

    record = await within(simulator.next_request())
    assert record.body["messages"][-1] == {"role": "user", "content": "Say something long, in many scripts."}
    await expect(chat.stop_button).to_be_visible()
    await expect(chat.last_answer).to_have_attribute("data-status", "streaming")
    await within(record.ended.wait())
    await chat.wait_done()

    assert record.completed and record.content_chunks_sent == len(tokens(PLAIN_ANSWER))
    assert await chat.paragraphs() == [paragraph.strip() for paragraph in PLAIN_PARAGRAPHS]
    await expect(chat.messages).to_have_count(2)
    await expect(chat.answer_body(chat.messages.first)).to_have_text("Say something long, in many scripts.")
    await expect(chat.stop_button).to_be_hidden()
    await expect(chat.last_answer.locator(".status-usage")).to_contain_text("tokens")


async def test_markdown_answer_renders_headings_lists_code_and_tables(
    open_chat: OpenChat, chat_url: str, simulator: Simulator
) -> None:
    simulator.token_delay = 0.002
    simulator.script(MARKDOWN_ANSWER)
    chat = await open_chat(chat_url, permissions=["clipboard-read", "clipboard-write"])
    await chat.send("Explain the protocol")
    await chat.wait_done()

    body = chat.answer_body()
    await expect(body.locator("h2")).to_have_text("Streaming, step by step")
    await expect(body.locator("strong")).to_have_text("as soon as it arrives")
    await expect(body.locator("ol > li")).to_have_text(
        [
            "The browser posts the conversation.",
            "The server opens one upstream stream.",
            "Each read leaves as one frame.",
        ]
    )
    code_block = body.locator(".code-block")
    await expect(code_block).to_have_count(1)
    await expect(code_block.locator(".code-language")).to_have_text("python")
    assert await code_block.locator("pre").text_content() == CODE
    await expect(body.locator("table thead th")).to_have_text(["Event", "Data", "When"])
    await expect(body.locator("table tbody tr")).to_have_count(3)
    await expect(body.locator("table tbody tr").nth(1).locator("td")).to_have_text(
        ["done", "finish reason", "at the end"]
    )
    await expect(body.locator(".table-scroll > table")).to_have_count(1)
    link = body.get_by_role("link", name="the protocol")
    await expect(link).to_have_attribute("href", "https://example.com/protocol")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")

    copy = code_block.get_by_role("button", name="Copy code")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await chat.page.evaluate("navigator.clipboard.readText()") == CODE


PWNED = "window.__pwned=1"
MALICIOUS_ANSWER = f"""Some payloads, all of which must stay text or vanish.

<img src=x onerror="{PWNED}">

[click](javascript:{PWNED})

<script>{PWNED}</script>

<a href="javascript:{PWNED}">raw link</a>

<iframe src="javascript:{PWNED}"></iframe>

<svg onload="{PWNED}"><circle r="5"/></svg>

Inline <img src=x onerror={PWNED}> and <b onmouseover={PWNED}>bold</b> too.

![picture](javascript:{PWNED})

[data link](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)

<details open ontoggle={PWNED}>details</details>
"""


async def assert_inert(chat: ChatPage) -> None:
    messages = chat.page.locator("#messages")
    for selector in ("img", "script", "iframe", "svg", "object", "embed", "details", "[style]"):
        await expect(messages.locator(selector)).to_have_count(0)
    handlers = await messages.evaluate("""list => [...list.querySelectorAll("*")].flatMap(
        node => [...node.attributes].map(attribute => attribute.name).filter(name => name.startsWith("on")))""")
    assert handlers == []
    hrefs = await messages.evaluate("""list => [...list.querySelectorAll("[href], [src]")].map(
        node => node.getAttribute("href") ?? node.getAttribute("src"))""")
    assert not [href for href in hrefs if href.strip().lower().startswith(("javascript:", "data:", "vbscript:"))]
    body = chat.answer_body()
    # Raw HTML is shown as the text it is.
    await expect(body).to_contain_text(f"<script>{PWNED}</script>")
    await expect(body).to_contain_text(f'<img src=x onerror="{PWNED}">')
    assert await chat.page.evaluate("window.__pwned") is None


async def test_malicious_answer_renders_inert(open_chat: OpenChat, chat_url: str, simulator: Simulator) -> None:
    simulator.token_delay = 0.001  # the streaming renderer sees every half-written tag too
    simulator.script(MALICIOUS_ANSWER)
    chat = await open_chat(chat_url)
    popups: list[object] = []
    chat.page.context.on("page", lambda page: popups.append(page))
    await chat.send("Show me some HTML")
    await chat.wait_done()
    await assert_inert(chat)

    url = chat.page.url
    for name in ("click", "picture", "data link"):
        link = chat.answer_body().get_by_text(name, exact=True)
        await expect(link).to_have_count(1)
        await link.click()
    await chat.answer_body().locator("p", has_text="bold").hover()
    # Let any navigation, popup or handler that was wrongly started happen before judging.
    await chat.page.evaluate("new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 50)))")
    assert chat.page.url == url
    assert popups == []
    assert await chat.page.evaluate("window.__pwned") is None

    await chat.page.reload()  # the stored answer is drawn by the other path: whole, not streamed
    await expect(chat.answers).to_have_count(1)
    await assert_inert(chat)
