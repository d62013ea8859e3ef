"""Which groups a client is in, and so which presets and deployments it may use: groups a trusted
proxy names in CHAT_TRUSTED_GROUPS_HEADER, and those the presets file gives users and named tokens."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from chat.access.proxies import from_trusted_proxy
from chat.config.presets import Preset, PresetsFile, allowed_presets_key, default_preset_key
from chat.config.settings import Settings, settings_key
from chat.errors import catalogue
from chat.errors.chat_error import ChatError

MAX_GROUPS_HEADER_CHARS = 4096  # of the header's value looked at
MAX_GROUPS = 64  # groups taken from it
MAX_GROUP_CHARS = 128


@dataclasses.dataclass(frozen=True, slots=True)
class ClientAccess:
    """Who the client is (`user:NAME`, `token:NAME`, `ip:ADDRESS`) and what it may use: decided once,
    by access control, for every handler to read from `request[client_access_key]`."""

    client: str
    presets: PresetsFile
    groups: frozenset[str]
    default_preset: str | None = None
    allowed_presets: frozenset[str] | None = None  # pinned: only these may be named; None: any

    def preset(self, name: object) -> Preset | None:
        """The preset a request names (or the app's default); 400 for an unknown one, 403 for one
        the client's groups may not use or, in a pinned app, for any it does not allow."""
        if name is None:
            name = self.default_preset
            if name is None:
                return None
        if not isinstance(name, str):
            raise ChatError(catalogue.UNKNOWN_PRESET, name=str(name)[:64])
        if self.allowed_presets is not None and name not in self.allowed_presets:
            raise ChatError(catalogue.FORBIDDEN_PRESET, name=name[:64])  # known or not: nothing told
        if name not in self.presets.presets:
            raise ChatError(catalogue.UNKNOWN_PRESET, name=name[:64])
        preset = self.presets.presets[name]
        if not self.may_use(preset.groups):
            raise ChatError(catalogue.FORBIDDEN_PRESET, name=name)
        return preset

    def may_use(self, groups: frozenset[str]) -> bool:
        return not groups or bool(groups & self.groups)

    def may_use_deployment(self, deployment: str) -> bool:
        return self.may_use(self.presets.deployment_groups.get(deployment, frozenset()))

    def deployments(self, preset: Preset | None, settings: Settings) -> tuple[str, ...]:
        """The deployments offered to this client: the preset's (or all), less those of other groups."""
        offered = preset.deployments if preset and preset.deployments else settings.deployments
        return tuple(deployment for deployment in offered if self.may_use_deployment(deployment))


def client_access(request: web.Request, client: str) -> ClientAccess:
    """The groups of a signed-in `client`: those the presets file gives it, and those a trusted proxy names."""
    settings = request.app[settings_key]
    presets = settings.presets
    groups = set(presets.user_groups.get(client, ()))
    if settings.trusted_groups_header and from_trusted_proxy(request, settings):
        groups.update(proxied_groups(request.headers.get(settings.trusted_groups_header, "")))
    return ClientAccess(
        client, presets, frozenset(groups), request.app.get(default_preset_key), request.app.get(allowed_presets_key)
    )


def proxied_groups(value: str) -> list[str]:
    """The groups of a comma-separated header value, capped in length and count."""
    names = (name.strip() for name in value[:MAX_GROUPS_HEADER_CHARS].split(","))
    return [name for name in names if name and len(name) <= MAX_GROUP_CHARS][:MAX_GROUPS]


client_access_key = web.RequestKey("client_access_key", ClientAccess)
