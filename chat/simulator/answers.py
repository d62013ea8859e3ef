"""What the simulated model says: a markdown answer that reflects the question, cut into tokens."""

from __future__ import annotations

import re
import zlib

TOKEN = re.compile(r"\s*\S{1,5}|\s+")

TIPS = (
    "Press **Stop** (or Esc) while this streams: the server closes the upstream request at once, "
    "so nothing is generated for nobody.",
    "Close the tab mid-answer and the server notices within milliseconds.",
    "Answers arrive as Server-Sent Events; a frame split across network reads is put back together "
    "before it is decoded.",
    "Set `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` and `AZURE_OPENAI_DEPLOYMENT` to talk to a real deployment.",
    "Your conversations stay in this browser's storage, never on the server.",
)


def answer_for(question: str) -> str:
    words = question.split()
    shown = " ".join(words)
    if len(shown) > 160:
        shown = shown[:157] + "..."
    seed = zlib.crc32(question.encode())
    tips = [TIPS[(seed + step) % len(TIPS)] for step in range(3)]
    longest = max(words, key=len) if words else ""
    return (
        f"You asked: *{_escape(shown)}*\n\n"
        "This is a **simulated** answer: no model read your message. "
        f"It has {len(words)} word{'s' * (len(words) != 1)} "
        f"and {len(question)} characters; the longest word is `{longest.replace('`', '')}`.\n\n"
        "### Things to try\n\n" + "".join(f"- {tip}\n" for tip in tips) + "\n```python\n"
        "def relay(chunks):\n"
        "    for chunk in chunks:\n"
        "        yield chunk  # one token at a time\n"
        "```\n\n"
        "| Setting | Simulated | Azure |\n"
        "|---|---|---|\n"
        "| Endpoint | built in | your resource |\n"
        "| Cost | none | per token |\n\n"
        "Ask another question to see a different answer."
    )


def reasoning_summary(answer: str) -> list[str]:
    """What a reasoning model says it thought about, in parts (paragraphs)."""
    words = len(answer.split())
    return [
        "**Reading the question**\n\nThe question is short, so a direct answer with an example fits best.",
        f"**Planning the answer**\n\nAbout {words} words: a sentence, a short list, a code block and a table.",
    ]


def tokens(text: str) -> list[str]:
    """Cut text into token-sized pieces; joined again they give back exactly `text`."""
    return TOKEN.findall(text)


def _escape(text: str) -> str:
    return re.sub(r"([\\*_`\[\]<>#|])", r"\\\1", text)
