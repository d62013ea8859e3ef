"""`docs/errors.md`, the table of error codes, made from the catalogue by
`python -m chat.errors.document > docs/errors.md`."""

from __future__ import annotations

import re
import sys

from chat.errors.catalogue import CODES, MESSAGES
from chat.errors.chat_error import ErrorMessage

COMMAND = "python -m chat.errors.document > docs/errors.md"
_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}")

HEADER = f"""# Error codes

<!-- Made from chat/errors/catalogue.py by `{COMMAND}`: change the catalogue, not this file. -->

Before the stream starts, an error is a plain HTTP answer with the status below and the body
`{{"error": {{"code": "...", "message": "...", "retry_after"?: N}}}}`; after it started, it is the
stream's last event, `error`, with the same object. `code` is stable: the page, scripts and the
`chat_requests_total` metric's `outcome` read it. `message` is written for people; a `{{name}}` in it
stands for a value of the request or of the settings. Errors of the model service are mapped to these
codes, never passed through, and no message holds a key or a token.

Codes that can also come in the stream: {{in_stream}}.

| code | status | when | message | what to do |
|---|---|---|---|---|
"""


def shown(message: ErrorMessage) -> str:
    """The template as the table shows it: each field as `{name}`, without its conversion or format."""
    return _FIELD.sub(r"{\1}", message.template)


def table() -> str:
    rows = []
    for code in sorted(CODES, key=lambda code: (code.status, code.code)):
        messages = "<br>".join(_cell(shown(m)) for m in MESSAGES if m.kind is code)
        rows.append(f"| `{code.code}` | {code.status} | {_cell(code.when)} | {messages} | {_cell(code.what_to_do)} |")
    in_stream = ", ".join(f"`{code.code}`" for code in CODES if code.in_stream)
    return HEADER.replace("{in_stream}", in_stream) + "\n".join(rows) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(table())
