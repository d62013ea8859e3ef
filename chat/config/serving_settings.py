"""The settings of serving clients: where, within which limits, to whom, and the simulator's pace.
A part of `Settings` (chat/config/settings.py), declared as chat/config/model_settings.py is."""

from __future__ import annotations

import dataclasses
import datetime

from chat.config import values as v
from chat.config.fields import setting
from chat.config.values import SIMULATOR_MODELS


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServingSettings:
    host: str = setting("127.0.0.1", "HOST", section="Server", help="where to listen (also `--host`)")
    port: int = setting(8080, "PORT", 0, 65535, help="the port to listen on (also `--port`)")
    shutdown_timeout: float = setting(
        3.0, "CHAT_SHUTDOWN_TIMEOUT", 0.1, 600,
        help="seconds open streams get to end politely on SIGTERM before they are cut",
    )  # fmt: skip
    keepalive_timeout: float = setting(
        15.0, "CHAT_KEEPALIVE_TIMEOUT", 1, 3600,
        help="seconds an idle connection (between requests, or never sending one) stays open; behind a proxy or "
        "load balancer that reuses connections, set it above that one's idle timeout (`deploy/nginx.conf` uses 10)",
    )  # fmt: skip

    max_body_bytes: int = setting(
        1024 * 1024, "CHAT_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024, section="Limits",
        help="request body limit (413 above)",
    )  # fmt: skip
    max_messages: int = setting(200, "CHAT_MAX_MESSAGES", 1, 10_000, help="messages per request")
    max_message_chars: int = setting(32_000, "CHAT_MAX_MESSAGE_CHARS", 1, 10_000_000, help="characters per message")
    max_total_chars: int = setting(200_000, "CHAT_MAX_TOTAL_CHARS", 1, 50_000_000, help="characters per conversation")
    max_streams: int = setting(
        1000, "CHAT_MAX_STREAMS", 1, 1_000_000,
        help="open answers in all (503 `server_busy` beyond); each holds two file descriptors, so beyond what the "
        "open-file limit holds they get 503 too, and start-up warns",
    )  # fmt: skip
    max_streams_per_client: int = setting(
        10, "CHAT_MAX_STREAMS_PER_CLIENT", 1, 1_000_000, help="open answers per client (429 `too_many_streams` beyond)"
    )
    requests_per_minute: int = setting(
        60, "CHAT_REQUESTS_PER_MINUTE", 0, 1_000_000, help="messages per client per minute; `0` turns the limit off"
    )
    redis_url: str | None = setting(
        None, "CHAT_REDIS_URL", check=v.redis_url, repr=False,
        help="`redis://host:6379/0` (`rediss://` for TLS, `redis://:password@host`, `unix:///path`): every process "
        "and machine that names the same Redis shares open streams per client and in all, messages per minute, "
        "failed sign-ins, usage and quotas (see [operations](operations.md#scaling-out)). While it is unreachable, "
        "each process counts its own and chat goes on",
    )  # fmt: skip
    stream_lease_seconds: float = setting(
        10.0, "CHAT_STREAM_LEASE_SECONDS", 0.5, 600,
        help="with Redis: how long an open stream's place outlives a process that died holding it (live processes "
        "renew theirs every third of it)",
    )  # fmt: skip
    resume_window: float = setting(
        30.0, "CHAT_RESUME_WINDOW", 0.1, 3600,
        help="seconds a resumable answer (`\"resumable\": true`) goes on with no reader, waiting for its client to "
        "come back (`GET /api/answers/{id}`); then its upstream is closed and its tokens count as abandoned. The "
        "events of a finished answer are kept as long (see [the API](api.md#resumable-answers))",
    )  # fmt: skip
    tokens_per_day: int = setting(
        0, "CHAT_TOKENS_PER_DAY", 0, 10**12, shown_default="`0` (no quota)",
        help="tokens (prompt, completion and reasoning; for an answer left before its usage came, its prompt and "
        "whole token ceiling) a client may use per day; beyond, 429 `quota_exceeded` until the quota resets. Each "
        "request reserves its prompt and token ceiling as it is admitted, so parallel requests cannot overrun it "
        "(see [operations](operations.md#running-it-for-a-team)); an answer in progress is never cut",
    )  # fmt: skip
    # (client identity, tokens)
    token_quotas: tuple[tuple[str, int], ...] = setting(
        (), "CHAT_TOKEN_QUOTAS", check=v.quota_client,
        help="per-client budgets that replace it, comma-separated `client=tokens`: `ada=500000` (a user), "
        "`token:ci=2000000` (a named token), `ip:10.0.0.7=1000`",
    )  # fmt: skip
    quota_reset: datetime.time = setting(  # noqa: RUF009 - setting() is a field, as dataclasses.field is
        datetime.time(0, 0), "CHAT_QUOTA_RESET", check=v.time_of_day,
        help="the time of day (UTC) when daily quotas renew",
    )  # fmt: skip
    write_timeout: float = setting(
        30.0, "CHAT_WRITE_TIMEOUT", 0.1, 3600, help="seconds a client may read nothing before its stream is dropped"
    )
    body_timeout: float = setting(
        30.0, "CHAT_BODY_TIMEOUT", 0.1, 3600, help="seconds a request body may take to arrive (408 beyond)"
    )

    # Without any of the first three, anyone who can reach the port may chat.
    basic_auth: tuple[tuple[str, str], ...] = setting(
        (), "CHAT_BASIC_AUTH", check=v.credentials, repr=False, section="Access",
        help=f"`user:password` pairs (passwords of {v.MIN_PASSWORD_LENGTH} or more characters), comma-separated: "
        "the browser asks for them",
    )  # fmt: skip
    api_tokens: tuple[str, ...] = setting(
        (), "CHAT_API_TOKENS", check=v.token, repr=False,
        help=f"bearer tokens ({v.MIN_TOKEN_LENGTH}+ characters), comma-separated, for scripts and host "
        "applications; `name=token` gives one a name, its client in the log, the limits and usage (`token:name`). "
        "A token that itself holds `=` needs a name in front",
    )  # fmt: skip
    trusted_user_header: str | None = setting(
        None, "CHAT_TRUSTED_USER_HEADER",
        help="a header set by an authenticating reverse proxy, e.g. `X-Forwarded-User`; needs `CHAT_TRUSTED_PROXIES`",
    )  # fmt: skip
    trusted_groups_header: str | None = setting(
        None, "CHAT_TRUSTED_GROUPS_HEADER",
        help="a header in which the same proxies name the client's groups, comma-separated, e.g. "
        "`X-Forwarded-Groups` (the first 4096 characters and 64 groups are read); needs `CHAT_TRUSTED_PROXIES`",
    )  # fmt: skip
    # None by default: any local process could otherwise claim to be a proxy and forge these headers.
    trusted_proxies: tuple[str, ...] = setting(
        (), "CHAT_TRUSTED_PROXIES", check=v.network, shown_default="unset: none",
        help="addresses or networks (`10.0.0.0/8`) of your reverse proxies, whose user and groups headers, "
        "`X-Forwarded-For` (or `Forwarded`) and `X-Forwarded-Host` are believed. The client is the right-most "
        "`X-Forwarded-For` address that is not one of them, so a load balancer and nginx both count as proxies",
    )  # fmt: skip
    proxy_secret: str | None = setting(
        None, "CHAT_PROXY_SECRET", check=v.proxy_secret, repr=False, shown_default="unset: address alone",
        help=f"a secret ({v.MIN_TOKEN_LENGTH}+ characters, no spaces) your proxies send in `X-Chat-Proxy-Secret` "
        "(`deploy/nginx.conf` has the line): without it, forwarding and identity headers are not believed even "
        "from `CHAT_TRUSTED_PROXIES`, so another process on a proxy's address cannot forge them",
    )  # fmt: skip
    # A site that rebinds its name to this server must not become same-origin with it.
    allowed_hosts: tuple[str, ...] = setting(
        (), "CHAT_ALLOWED_HOSTS", check=v.host_pattern,
        help="host names the server answers to besides `localhost`, IP addresses and its own listen address, "
        "comma-separated: `chat.example.com`, `*.example.com`, or `*` for any. Any other `Host` gets a 400 naming "
        "this setting (protection against DNS rebinding)",
    )  # fmt: skip
    allowed_origins: tuple[str, ...] = setting(
        (), "CHAT_ALLOWED_ORIGINS", check=v.origin,
        help="other origins whose pages may post to the API, e.g. `https://tools.example.com`",
    )  # fmt: skip
    frame_ancestors: str = setting(
        "'self'", "CHAT_FRAME_ANCESTORS",
        help="who may frame the pages (CSP `frame-ancestors`), e.g. `'self' https://intranet.example.com`",
    )  # fmt: skip

    metrics: bool = setting(True, "CHAT_METRICS", section="Operating it", help="`false`: no `/metrics` (404)")
    metrics_clients: tuple[str, ...] = setting(
        (), "CHAT_METRICS_CLIENTS", check=v.metrics_client,
        shown_default="unset: nobody once sign-in is on; without sign-in, requests from this machine",
        help="who may read `/metrics` and the details of `/healthz` (endpoints, Redis, open streams), "
        "comma-separated: token names (`token:prometheus`), user names (`ada`) and the scraper's addresses or "
        "networks (`10.0.0.5`, `10.1.0.0/16`; these need no sign-in). Others get 403 `forbidden_metrics`, and "
        "`/healthz` tells them `{\"status\": \"ok\"}` only",
    )  # fmt: skip
    usage_admins: tuple[str, ...] = setting(
        (), "CHAT_USAGE_ADMINS", check=v.usage_admin,
        help="who may see everyone's usage at `/api/usage?scope=all`, comma-separated: user names (`ada`) and "
        "token names (`token:ci`)",
    )  # fmt: skip

    simulator_model: str = setting(
        "gpt-4o", "SIMULATOR_MODEL", check=v.one_of(tuple(SIMULATOR_MODELS)), section="The built-in simulator",
        help="the default model of demo mode: `gpt-4o`, `reasoning` (thinks silently first, reports reasoning "
        "tokens), `responses` (a Responses-only model with reasoning summaries) or `async-filter` (Azure's "
        "asynchronous content filter); the page's picker offers all four",
    )  # fmt: skip
    simulator_token_delay: float = setting(0.03, "SIMULATOR_TOKEN_DELAY", 0, 10, help="seconds between tokens")
    simulator_first_token_delay: float = setting(
        0.4, "SIMULATOR_FIRST_TOKEN_DELAY", 0, 60, help="seconds before the first token"
    )
    simulator_thinking_time: float = setting(
        4.0, "SIMULATOR_THINKING_TIME", 0, 3600, help="seconds the reasoning models think before answering"
    )
