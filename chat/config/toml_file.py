"""A settings file in TOML (endpoints, presets), read so that any fault is one line naming the file."""

from __future__ import annotations

import tomllib
from typing import Any


def read_toml(path: str) -> dict[str, Any]:
    """The file's document; ValueError names the file and what is wrong."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ValueError(f"cannot read {path!r}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path!r} is not valid TOML: {error}") from None
