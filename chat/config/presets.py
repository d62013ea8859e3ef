"""Presets: named set-ups of the chat for the tools that embed it, and who may use what, from a small
TOML file (CHAT_PRESETS_FILE).

    [presets.helpdesk]
    title = "Helpdesk assistant"
    welcome = "Ask about accounts, printers and the VPN."
    prompts = ["Reset my password", "Set up the VPN"]   # up to four suggested prompts
    system_prompt = "You answer IT helpdesk questions."  # locked: a client's own is refused
    deployments = ["gpt-4o"]                             # a subset of the configured ones; the first is the default
    max_tokens = 2000                                    # a ceiling for this preset
    reasoning_effort = "low"
    groups = ["support"]                                 # only these groups; none: everyone

    [deployment_groups]                                  # a deployment only for these groups
    gpt-5 = ["research", "support"]

    [user_groups]                                        # groups of signed-in users and named tokens
    ada = ["support"]
    "token:ci" = ["automation"]
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from chat.config.toml_file import read_toml

MAX_PROMPTS = 4
PRESET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
GROUP_NAME = re.compile(r"[^,\s][^,]{0,127}")
TEXT_LIMITS = {"title": 200, "welcome": 2000, "prompt": 500}
PRESET_KEYS = frozenset(
    {"title", "welcome", "prompts", "system_prompt", "deployments", "max_tokens", "reasoning_effort", "groups"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class Preset:
    """One named set-up: what the page shows, what the API applies, who may use it."""

    name: str
    title: str | None = None
    welcome: str | None = None
    prompts: tuple[str, ...] = ()
    system_prompt: str | None = None  # when set, locked
    deployments: tuple[str, ...] = ()  # empty: every configured deployment
    max_tokens: int | None = None
    reasoning_effort: str | None = None
    groups: frozenset[str] = frozenset()  # empty: everyone


@dataclasses.dataclass(frozen=True, slots=True)
class PresetsFile:
    presets: Mapping[str, Preset] = dataclasses.field(default_factory=dict)
    deployment_groups: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    user_groups: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)  # by client identity


def presets_from_file(path: str, deployments: tuple[str, ...], efforts: tuple[str, ...], ceiling: int) -> PresetsFile:
    """The presets of a TOML file; ValueError names the file and what is wrong."""
    document = read_toml(path)
    if unknown := set(document) - {"presets", "deployment_groups", "user_groups"}:
        raise ValueError(f"{path!r}: unknown table {sorted(unknown)[0]!r}")
    presets = _table(document, "presets", path)
    return PresetsFile(
        {
            name: _preset(name, entry, f"{path!r}, preset {name!r}", deployments, efforts, ceiling)
            for name, entry in presets.items()
        },
        {
            _known_deployment(name, deployments, f"{path!r}, [deployment_groups]"): _groups(
                value, f"{path!r}, [deployment_groups] {name!r}"
            )
            for name, value in _table(document, "deployment_groups", path).items()
        },
        {
            _client(name, f"{path!r}, [user_groups]"): _groups(value, f"{path!r}, [user_groups] {name!r}")
            for name, value in _table(document, "user_groups", path).items()
        },
    )


def _table(document: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise ValueError(f"{path!r}: {name} must be a table")
    return table


def _preset(
    name: str, entry: object, where: str, deployments: tuple[str, ...], efforts: tuple[str, ...], ceiling: int
) -> Preset:
    if not PRESET_NAME.fullmatch(name):
        raise ValueError(f"{where}: a preset's name holds only letters, digits, - and _ (at most 64)")
    if not isinstance(entry, dict) or (unknown := set(entry) - PRESET_KEYS):
        raise ValueError(f"{where}: unknown keys {sorted(unknown) if isinstance(entry, dict) else entry!r}")
    prompts = entry.get("prompts", [])
    if not isinstance(prompts, list) or len(prompts) > MAX_PROMPTS:
        raise ValueError(f"{where}: `prompts` must be a list of at most {MAX_PROMPTS} texts")
    chosen = entry.get("deployments", [])
    if not isinstance(chosen, list):
        raise ValueError(f"{where}: `deployments` must be a list of deployment names")
    max_tokens = entry.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= ceiling
    ):
        raise ValueError(f"{where}: `max_tokens` must be a whole number from 1 to {ceiling}")
    effort = entry.get("reasoning_effort")
    if effort is not None and effort not in efforts:
        raise ValueError(f"{where}: `reasoning_effort` must be one of {', '.join(efforts)}")
    system_prompt = entry.get("system_prompt")
    if system_prompt is not None and (not isinstance(system_prompt, str) or not system_prompt.strip()):
        raise ValueError(f"{where}: `system_prompt` must be text")
    return Preset(
        name,
        _text(entry.get("title"), "title", where),
        _text(entry.get("welcome"), "welcome", where),
        tuple(_text(prompt, "prompt", where) or "" for prompt in prompts),
        system_prompt,
        tuple(_known_deployment(deployment, deployments, where) for deployment in chosen),
        max_tokens,
        effort,
        _groups(entry.get("groups", []), where),
    )


def _text(value: object, key: str, where: str) -> str | None:
    if value is None and key != "prompt":
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_LIMITS[key]:
        raise ValueError(f"{where}: each {key} must be text of at most {TEXT_LIMITS[key]} characters")
    return value


def _known_deployment(name: object, deployments: tuple[str, ...], where: str) -> str:
    if not isinstance(name, str) or name not in deployments:
        raise ValueError(f"{where}: deployment {name!r} is not among the deployments ({', '.join(deployments)})")
    return name


def _groups(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(
        isinstance(group, str) and GROUP_NAME.fullmatch(group) for group in value
    ):
        raise ValueError(f"{where}: groups must be a list of names without commas")
    return frozenset(value)


def client_identity(name: str) -> str | None:
    """`ada` or `user:ada` for a user, `token:ci` for a named token: the client identity, else None."""
    kind, colon, rest = name.partition(":")
    if not colon:
        kind, rest = "user", name
    return f"{kind}:{rest}" if kind in ("user", "token") and rest else None


def _client(name: str, where: str) -> str:
    if (identity := client_identity(name)) is None:
        raise ValueError(f"{where}: keys must be user names or token:NAME, not {name!r}")
    return identity


# The preset of pages and requests that name none: `create_app(settings, preset=...)` or CHAT_DEFAULT_PRESET.
# A default only: a request may still name another preset, unless the app is pinned.
default_preset_key = web.AppKey("default_preset_key", str)
# Pinned: the only presets a request or page may name (CHAT_PRESETS_ALLOWED, or `create_app(..., only=True)`).
allowed_presets_key = web.AppKey("allowed_presets_key", frozenset)
