"""The values settings may take: the constants they name, and the checks of one value or list item.
Each check takes the text of the environment or the value given in code, and returns it as kept
(parsed once, here), or raises ValueError saying why."""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from redis import connection as redis_connection

from chat.config.fields import shown
from chat.config.presets import PRESET_NAME, client_identity

V1 = "v1"  # Azure's versionless API: https://NAME.openai.azure.com/openai/v1/
# The oldest dated version that reasoning models (the gpt-5 family, o-series) accept on the classic path.
REASONING_API_VERSION = "2024-12-01-preview"
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
MAX_TOKENS_PARAMETERS = ("max_tokens", "max_completion_tokens")
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer in markdown when it helps."
SIMULATED_DEPLOYMENT = "simulated"
# Demo mode offers every model the simulator imitates, each under its own deployment name.
SIMULATOR_MODELS = {
    "gpt-4o": SIMULATED_DEPLOYMENT,
    "reasoning": "simulated-reasoning",
    "responses": "simulated-responses",
    "async-filter": "simulated-async-filter",
}
DEFAULT_PORTS = {"http": 80, "https": 443}
# A request may ask for at most this many answer tokens unless CHAT_MAX_TOKENS says otherwise.
DEFAULT_TOKEN_CEILING = 32_768
MIN_PASSWORD_LENGTH = 12
MIN_TOKEN_LENGTH = 16
TOKEN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a token's name, as identities and usage name it


def deployment_name(name: str) -> str:
    if not name or any(char in name for char in "/?#"):
        raise ValueError(f"must hold names without / ? or #, not {shown(name)}")
    return name


def network(proxy: str) -> str:
    try:
        ipaddress.ip_network(proxy, strict=False)
    except ValueError:
        raise ValueError(f"must hold addresses or networks, not {shown(proxy)}") from None
    return proxy


def token_parts(item: str) -> tuple[str | None, str]:
    """`name=token` as (name, token), a plain `token` as (None, token). A token that itself holds `=`
    needs a name in front; one that only ends in `=` (base64 padding) reads as plain."""
    name, equals, token = item.partition("=")
    if equals and TOKEN_NAME.fullmatch(name) and token.strip("="):
        return name, token
    return None, item


def token(item: str) -> str:
    if len(token_parts(item)[1]) < MIN_TOKEN_LENGTH:
        raise ValueError(f"must hold tokens of at least {MIN_TOKEN_LENGTH} characters each, alone or as name=token")
    return item


def usage_admin(item: str) -> str:
    """A user name (`ada`, `user:ada`) or a token's name (`token:ci`), kept as the client identity."""
    if (identity := client_identity(item)) is None:
        raise ValueError(f"must hold user names or token:NAME, not {shown(item)}")
    return identity


def proxy_secret(secret: str) -> str:
    if len(secret) < MIN_TOKEN_LENGTH or not all("!" <= char <= "~" for char in secret):
        # never quoted: it is a secret
        raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} printable ASCII characters without spaces")
    return secret


def metrics_client(item: str) -> str:
    """An address or network (kept as written), else a user or token name as `usage_admin` takes it.
    An item with a prefix length is meant as a network: a wrong one is refused, not taken as a name."""
    for form in (network,) if "/" in item else (network, usage_admin):
        try:
            return form(item)
        except ValueError:
            continue
    raise ValueError(f"must hold token:NAME, user names, or addresses and networks, not {shown(item)}")


def api_version(version: str) -> str:
    if version != V1 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", version):
        raise ValueError(f"must be v1 or a date like {REASONING_API_VERSION}, not {shown(version)}")
    return version


def reasoning_effort(item: str | tuple[str, str]) -> tuple[str, str]:
    """`effort` for every deployment or `deployment=effort` for one, kept as (deployment or "", effort)."""
    deployment, effort = item.rpartition("=")[::2] if isinstance(item, str) else _pair(item)
    if not isinstance(effort, str) or effort not in REASONING_EFFORTS or not isinstance(deployment, str):
        raise ValueError(f"must hold {', '.join(REASONING_EFFORTS)} or deployment=effort, not {shown(item)}")
    return (deployment_name(deployment) if deployment else ""), effort


def _pair(item: object) -> tuple[object, object]:
    """A pair given in code, or a pair that no check accepts."""
    return (item[0], item[1]) if isinstance(item, tuple) and len(item) == 2 else ("", "")


def preset_name(name: str) -> str:
    if not PRESET_NAME.fullmatch(name):
        raise ValueError(f"must be a preset's name (letters, digits, - and _), not {shown(name)}")
    return name


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {shown(value)}")
        return value

    return check


def credentials(item: str | tuple[str, str]) -> tuple[str, str]:
    """`user:password` from the environment, or the pair given in code."""
    user, password = (
        item.split(":", 1)
        if isinstance(item, str) and ":" in item
        else (item if isinstance(item, tuple) and len(item) == 2 else ("", ""))
    )
    if not (isinstance(user, str) and isinstance(password, str) and user and password):
        raise ValueError("must hold user:password pairs")  # never quoted: it holds a password
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"must hold passwords of at least {MIN_PASSWORD_LENGTH} characters (the one of {shown(user)} is shorter)"
        )
    return user, password


def redis_url(url: str) -> str:
    # Never quoted, nor the library's reason: it may hold a password.
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be a redis://, rediss:// (TLS) or unix:// URL")
    if parts.scheme == "unix" and not parts.path:
        raise ValueError("must name the socket's path: unix:///path/to/socket")
    try:
        redis_connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError:
        raise ValueError(
            "must be a URL redis-py reads: redis://[:password@]host[:port][/database], rediss://..., "
            "unix:///path/to/socket[?db=N], with a numeric port and database"
        ) from None
    return url


def quota_client(item: str | tuple[str, int]) -> tuple[str, int]:
    """`client=tokens`, where the client is a user name (`ada`, `user:ada`), a token's name (`token:ci`) or
    an address (`ip:...`); kept as (client identity, tokens)."""
    client, amount = item.rpartition("=")[::2] if isinstance(item, str) else _pair(item)
    if isinstance(amount, str) and amount.isdigit():
        amount = int(amount)
    elif isinstance(amount, bool):
        amount = None
    kind, colon, name = client.partition(":") if isinstance(client, str) else ("", "", "")
    if not colon:
        kind, name = "user", kind
    if kind not in ("user", "token", "ip") or not name or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"must hold client=tokens pairs such as ada=500000 or token:ci=2000000, not {shown(item)}")
    return f"{kind}:{name}", amount


def time_of_day(value: str | datetime.time) -> datetime.time:
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a time of day in UTC such as 06:00, not {shown(value)}") from None


def host_pattern(pattern: str) -> str:
    """A host name (`chat.example.com`), every name under a domain (`*.example.com`), or `*` for any."""
    name = pattern.lower().removeprefix("*.")
    if pattern != "*" and (not name or not re.fullmatch(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]", name)):
        raise ValueError(f"must hold host names like chat.example.com or *.example.com, not {shown(pattern)}")
    return pattern.lower()


def origin(value: str) -> str:
    canonical = canonical_origin(value)
    if canonical is None:
        raise ValueError(f"must hold origins like https://tools.example.com, not {shown(value)}")
    return canonical


def canonical_origin(value: str) -> str | None:
    """`scheme://host[:port]` the way browsers write Origin (no default port), or None if it is not one."""
    try:
        parts = urlsplit(value.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}")
