"""Where settings are read: the process environment over a `.env` file in the working directory.
A `.env` line that cannot be read stops start-up naming the file and the line; a variable that
looks like a setting but is none (a misspelling) gets one warning naming the closest setting."""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from chat.config.fields import SettingsError
from chat.config.settings import environment_names

# Variables with these prefixes are meant for this server: any that is not a setting is a mistake.
SETTING_PREFIXES = ("CHAT_", "AZURE_OPENAI_", "SIMULATOR_")


def read_environment(dotenv_path: str = ".env") -> dict[str, str]:
    """The process environment over the values of a .env file in the working directory, if any."""
    return {**read_dotenv(Path(dotenv_path)), **os.environ}


def read_dotenv(path: Path) -> dict[str, str]:
    """The values of a .env file (none if there is none); SettingsError names a line it cannot read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path.absolute()} cannot be read: {error}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # Never quoted: the line may hold a secret.
            raise SettingsError(
                f"{path.absolute()} line {binding.original.line} cannot be read: write NAME=value, "
                "and close any quote a value opens"
            )
    return {name: value for name, value in dotenv_values(stream=io.StringIO(text)).items() if value is not None}


def unknown_variables(environment: Mapping[str, str], known: Iterable[str] | None = None) -> list[str]:
    """One warning per variable that looks like a setting but is none, naming the closest setting."""
    names = list(environment_names() if known is None else known)
    warnings = []
    for name in sorted(environment):
        if name.startswith(SETTING_PREFIXES) and name not in names:
            closest = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {closest[0]}?)" if closest else ""
            warnings.append(f"warning: {name} is not a setting{hint}; it is ignored")
    return warnings
