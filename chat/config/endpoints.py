"""The model-service endpoints to fail over between: from AZURE_OPENAI_ENDPOINT (comma-separated, in
priority order, with one key or one key each), or from a small TOML file for what a list cannot
say (weights, a deployment name per endpoint, provisioned capacity first and standard as spill-over).

    [[endpoints]]
    url = "https://ptu-eastus.openai.azure.com"
    api_key_env = "PTU_KEY"          # or api_key = "...", or neither for Entra ID
    priority = 1                     # lower is tried first
    [endpoints.deployments]          # our deployment name = its name on this endpoint
    gpt-4o = "gpt-4o-ptu"

    [[endpoints]]
    url = "https://standard-westus.openai.azure.com/openai/v1/"
    api_key_env = "STANDARD_KEY"
    priority = 2
    weight = 2                       # among equal priorities, chosen twice as often
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chat.config.toml_file import read_toml

V1_PATH = "/openai/v1"


@dataclasses.dataclass(frozen=True)
class EndpointConfig:
    url: str
    api_key: str | None = dataclasses.field(default=None, repr=False)  # None: Entra ID (or no key needed)
    priority: int = 0
    weight: float = 1.0
    deployments: tuple[tuple[str, str], ...] = ()  # our name -> its name here, where they differ
    api_version: str | None = None  # None: v1 when the URL names the v1 path, else the setting's

    @functools.cached_property
    def host(self) -> str:
        """The endpoint as logs and /healthz name it: never a key. (Asked for every request.)"""
        parts = urlsplit(self.url)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"

    @property
    def names_v1_path(self) -> bool:
        return urlsplit(self.url).path.rstrip("/").endswith(V1_PATH)

    def deployment(self, name: str) -> str:
        return dict(self.deployments).get(name, name)


def endpoints_from_lists(urls: str, keys: str | None, variable: str, key_variable: str) -> tuple[EndpointConfig, ...]:
    """`url1,url2` with `key` for all or `key1,key2` in the same order; the first is tried first."""
    listed = [url.strip() for url in urls.split(",") if url.strip()]
    secrets = [key.strip() for key in (keys or "").split(",")] if keys and keys.strip() else []
    if not listed:
        raise ValueError(f"{variable} names no endpoint")
    if len(secrets) not in (0, 1, len(listed)):
        raise ValueError(
            f"{key_variable} must be one key for every endpoint or one per endpoint of {variable} "
            f"({len(listed)}), not {len(secrets)}"
        )
    if len(secrets) == 1:
        secrets *= len(listed)
    configs = []
    for position, url in enumerate(listed):
        _check_url(url)
        configs.append(EndpointConfig(url, (secrets[position] or None) if secrets else None, priority=position))
    return tuple(configs)


def endpoints_from_file(path: str, environment: Mapping[str, str] | None = None) -> tuple[EndpointConfig, ...]:
    """The endpoints of a TOML file; ValueError names the file and what is wrong."""
    environment = os.environ if environment is None else environment
    document = read_toml(path)
    entries = document.get("endpoints")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path!r} must have at least one [[endpoints]] table")
    return tuple(_entry(entry, position, path, environment) for position, entry in enumerate(entries, start=1))


def _entry(entry: Any, position: int, path: str, environment: Mapping[str, str]) -> EndpointConfig:
    where = f"{path!r}, endpoint {position}"
    known = {"url", "api_key", "api_key_env", "priority", "weight", "deployments", "api_version"}
    if not isinstance(entry, dict) or (unknown := set(entry) - known):
        raise ValueError(f"{where}: unknown keys {sorted(unknown) if isinstance(entry, dict) else entry!r}")
    url = entry.get("url")
    if not isinstance(url, str):
        raise ValueError(f"{where}: `url` is required")
    _check_url(url, where)
    key = entry.get("api_key")
    if (variable := entry.get("api_key_env")) is not None:
        key = environment.get(str(variable))
        if not key:
            raise ValueError(f"{where}: the variable {variable!r} named by `api_key_env` is not set")
    priority, weight = entry.get("priority", position), entry.get("weight", 1)
    if not isinstance(priority, int) or not isinstance(weight, (int, float)) or weight <= 0:
        raise ValueError(f"{where}: `priority` must be a whole number and `weight` a positive number")
    deployments = entry.get("deployments", {})
    if not isinstance(deployments, dict) or not all(isinstance(v, str) and v for v in deployments.values()):
        raise ValueError(f"{where}: `deployments` must map our deployment names to this endpoint's")
    version = entry.get("api_version")
    if version is not None and not isinstance(version, str):
        raise ValueError(f"{where}: `api_version` must be text")
    return EndpointConfig(url, key, priority, float(weight), tuple(deployments.items()), version)


def target_uri_parts(url: str) -> tuple[str, str | None, str | None] | None:
    """The Azure portal's full target URI (`https://NAME.openai.azure.com/openai/deployments/gpt-4o/chat/
    completions?api-version=...`) as (the endpoint, the deployment, the api-version) it names; None for a
    URL that is an endpoint already. ValueError: a request URL that names neither, saying what to paste."""
    parts = urlsplit(url)
    path = parts.path
    start = path.find("/openai/")
    if start < 0 or (path.rstrip("/").endswith(V1_PATH) and path.count("/openai/") == 1 and not parts.query):
        return None  # the resource, a gateway's prefix, or the v1 path itself
    base = parts._replace(path=path[:start], query="", fragment="").geturl()
    rest = path[start + len("/openai") :]
    version = parse_qs(parts.query).get("api-version", [None])[0]
    if rest.startswith("/v1/"):
        return base + V1_PATH, None, None
    if named := re.fullmatch(r"/deployments/([^/]+)(/.*)?", rest):
        return base, named[1], version
    if rest.rstrip("/") in ("/responses", "/chat/completions") and version:
        return base, None, version
    raise ValueError(
        f"{url[:80]!r} is a request's URL, not an endpoint: paste the resource's address, such as "
        f"https://NAME.openai.azure.com (the part before /openai/)"
    )


def _check_url(url: str, where: str = "") -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{where}{': ' if where else ''}endpoints must be http(s) URLs, got {url[:80]!r}")
