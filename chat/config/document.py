"""docs/settings.md, generated from the declarations of `Settings`:

    python -m chat.config.document > docs/settings.md

tests/test_settings.py fails when the file is not what this prints."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from chat.config.fields import Setting, declared
from chat.config.settings import Settings

COMMAND = "python -m chat.config.document > docs/settings.md"

INTRODUCTION = f"""# Settings

<!-- Generated from chat/config/settings.py by `{COMMAND}`: edit the declarations, not this file. -->

Read from the environment, and from a `.env` file in the working directory the server is started
from, if there is one (the environment wins; `.env.example` lists the usual ones). A missing or
malformed setting stops start-up with one line naming it; so does a `.env` line that cannot be read
(naming the file and the line). A variable that starts with `CHAT_`, `AZURE_OPENAI_` or `SIMULATOR_`
but is no setting gets a warning at start-up naming the closest one. Lists are comma-separated.
"""

OPENAI_SECTION = """## An OpenAI-compatible server instead of Azure

With `OPENAI_BASE_URL` set, these take the place of their Azure counterparts; the settings that name
no backend apply to both.
"""


def document() -> str:
    rows: list[str] = []
    openai_rows: list[str] = []
    for field, spec in declared(Settings):
        if spec.section is not None:
            rows += ["", f"## {spec.section}", "", "| variable | default | meaning |", "|---|---|---|"]
        if spec.only == "openai":
            openai_rows.append(_row(spec.env, _default(field, spec), spec.help))
            continue
        names = " (or " + ", ".join(f"`{alias}`" for alias in spec.aliases) + ")" if spec.aliases else ""
        rows.append(_row(spec.env, _default(field, spec), spec.help, names))
        if spec.openai_env is not None:
            default = _default(field, spec).replace("an endpoint", "`OPENAI_BASE_URL`")
            openai_rows.append(_row(spec.openai_env, default, spec.openai_help or spec.help))
    openai_table = ["", OPENAI_SECTION, "| variable | default | meaning |", "|---|---|---|", *openai_rows]
    return "\n".join([INTRODUCTION.rstrip("\n"), *rows, *openai_table]) + "\n"


def _row(name: str, default: str, meaning: str, also: str = "") -> str:
    escaped = meaning.replace("|", "\\|")
    return f"| `{name}`{also} | {default} | {escaped} |"


def _default(field: dataclasses.Field[Any], spec: Setting) -> str:
    if spec.shown_default is not None:
        return spec.shown_default
    value = field.default
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, datetime.time):
        return f"`{value:%H:%M}`"
    return f"`{value}`"


if __name__ == "__main__":
    print(document(), end="")
