"""How a setting is declared: `setting(default, "ENV_NAME", low, high, help=...)` on a field of
`Settings`. The field's annotation is its type, said once; this module reads it to know how to parse
the variable and which values to keep."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, Literal

Backend = Literal["simulator", "azure", "openai"]
BACKENDS: tuple[Backend, ...] = ("simulator", "azure", "openai")

_KIND_NAMES = {int: "a whole number", float: "a number", str: "text", tuple: "a tuple", bool: "true or false"}
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_PLAIN = (int, float, str, bool)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and fits on one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Setting:
    """How one field is written in the environment, and which values it may take."""

    env: str  # its variable (for the OpenAI-compatible backend, `openai_env` when set)
    help: str  # its row in docs/settings.md
    low: float | None = None
    high: float | None = None
    # Parses and checks one value (of a list: each item), from the environment (text) or from code;
    # returns it as kept, or raises ValueError saying why. Needed for any type but int, float, str, bool.
    check: Callable[[Any], object] | None = None
    strip: bool = True
    aliases: tuple[str, ...] = ()  # read, in order, when `env` is unset
    openai_env: str | None = None
    openai_help: str | None = None  # its row for the OpenAI-compatible backend, when it has one of its own
    only: Backend | None = None  # read only for this backend
    shown_default: str | None = None  # the default as the documentation says it, where its value does not
    section: str | None = None  # the documentation starts a section with this setting
    kind: type = (
        str  # int, float, str, bool, tuple (a comma-separated list) or a type `check` makes; from the annotation
    )

    def names(self, backend: Backend) -> tuple[str, ...]:
        if self.only is not None and backend not in (self.only, "simulator"):
            return ()
        if backend == "openai":
            return (self.openai_env or self.env, *self.aliases)
        return (self.env, *self.aliases)

    def parse(self, name: str, raw: str) -> object:
        """The variable's text as a value for `normalise`; SettingsError names the variable."""
        if self.kind is tuple:  # each item is checked in `normalise`, with the values given in code
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if self.kind is bool:
            if raw.lower() not in _BOOLEANS:
                raise SettingsError(f"{name} must be true or false, got {shown(raw)}")
            return _BOOLEANS[raw.lower()]
        if self.kind in (int, float):
            try:
                return self.kind(raw)
            except ValueError:
                raise SettingsError(f"{name} must be {_KIND_NAMES[self.kind]}, got {shown(raw)}") from None
        return raw  # text, or the text `check` turns into its type

    def normalise(self, value: object) -> object:
        """`value` in its kept form; ValueError says why it is not allowed."""
        if value is None:
            return None
        if self.kind is tuple:
            if not isinstance(value, tuple):
                raise ValueError(f"must be a tuple, got {shown(value)}")
            return tuple(self.check(part) for part in value) if self.check else value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {shown(value)}")
            return value
        if self.kind in (int, float):
            number = _number(value, self.kind)
            if self.low is not None and self.high is not None and not self.low <= number <= self.high:
                raise ValueError(f"must be between {self.low:n} and {self.high:n}, got {shown(value)}")
            return self.check(number) if self.check else number
        if self.kind is str and not isinstance(value, str):
            raise ValueError(f"must be {_KIND_NAMES[str]}, got {shown(value)}")
        return self.check(value) if self.check else value


def _number(value: object, kind: type) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and isinstance(value, float)):
        raise ValueError(f"must be {_KIND_NAMES[kind]}, got {shown(value)}")
    return float(value) if kind is float else value


def setting(
    default: Any,
    env: str,
    low: float | None = None,
    high: float | None = None,
    *,
    help: str,
    repr: bool = True,
    **options: Any,
) -> Any:
    """A dataclass field with its environment name, bounds and documentation; its type is its annotation."""
    spec = Setting(env, help, low, high, **options)
    return dataclasses.field(default=default, repr=repr, metadata={"setting": spec})


def declared(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Setting]]:
    """The settings of a dataclass, each with its kind from the field's annotation."""
    yield from _declared(cls)


@functools.cache
def _declared(cls: type) -> tuple[tuple[dataclasses.Field[Any], Setting], ...]:
    hints = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        if (spec := field.metadata.get("setting")) is not None:
            kind, text = _kind(field.name, hints[field.name])
            if not text and spec.check is None:
                raise TypeError(f"{field.name}: a setting of {hints[field.name]} needs a check that makes one")
            spec = dataclasses.replace(spec, kind=kind)
            found.append((field, spec))
    return tuple(found)


def _kind(name: str, hint: Any) -> tuple[type, bool]:
    """int, float, str, bool, tuple or another class, from `X`, `X | None` or `tuple[X, ...]`; and
    whether a value (of a list: an item) is kept as the environment writes it, or needs a check to make it."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        others = [part for part in typing.get_args(hint) if part is not type(None)]
        if len(others) != 1:
            raise TypeError(f"{name}: a setting has one type (or that type | None), not {hint}")
        hint = others[0]
    if typing.get_origin(hint) is tuple:
        return tuple, typing.get_args(hint)[0] is str
    if not isinstance(hint, type):
        raise TypeError(f"{name}: cannot read a setting of type {hint}")
    return hint, hint in _PLAIN


def shown(value: object) -> str:
    """A value as an error message may quote it: repr, capped."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
