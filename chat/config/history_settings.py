"""The settings of conversations kept on the server: where, for whom, how many. A part of `Settings`
(chat/config/settings.py), declared as chat/config/serving_settings.py is."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from chat.config import values as v
from chat.config.fields import setting

HISTORY_MODES = ("server", "browser")
SHARE_MODES = ("team", "public", "off")


def database_url(url: str) -> str:
    # Never quoted: it may hold a password.
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("must be a postgresql:// URL: postgresql://user:password@host:5432/database")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("must name the server's host: postgresql://user:password@host:5432/database")
    try:
        parts.port  # noqa: B018 - read for its check: a port that is not a number raises
    except ValueError:
        raise ValueError("must have a numeric port: postgresql://user:password@host:5432/database") from None
    return url


@dataclasses.dataclass(frozen=True, kw_only=True)
class HistorySettings:
    history: str = setting(
        "server", "CHAT_HISTORY", check=v.one_of(HISTORY_MODES), section="Conversations",
        help="`server`: signed-in clients (basic-auth users, trusted-proxy users, named API tokens) keep their "
        "conversations on the server (`/api/conversations`, see [the API](api.md#conversations)); anonymous "
        "clients keep theirs in the browser. `browser`: everyone keeps history in the browser only, and the "
        "server stores none",
    )  # fmt: skip
    data_dir: str = setting(
        "./data", "CHAT_DATA_DIR",
        help="the directory of the built-in SQLite database (`conversations.sqlite3`, WAL mode), created at start "
        "when anyone can sign in; see [operations](operations.md#backing-up-and-moving-conversations)",
    )  # fmt: skip
    database_url: str | None = setting(
        None, "CHAT_DATABASE_URL", check=database_url, repr=False, shown_default="unset: SQLite in `CHAT_DATA_DIR`",
        help="`postgresql://user:password@host:5432/database`: keep conversations in PostgreSQL instead, for several "
        "processes or machines. Migrations run at start (`chat-server migrate` runs them alone)",
    )  # fmt: skip
    max_conversations: int = setting(
        10_000, "CHAT_MAX_CONVERSATIONS", 1, 10_000_000,
        help="conversations each client may keep on the server (400 `too_many_conversations` beyond)",
    )  # fmt: skip
    share: str = setting(
        "team", "CHAT_SHARE", check=v.one_of(SHARE_MODES),
        help="who may open a share link (`/s/<token>`, a read-only snapshot of a conversation kept on the server; "
        "see [the API](api.md#share-links)): `team`, anyone signed in to this server; `public`, anyone who has the "
        "link, signed in or not; `off`, nobody, and no link can be made",
    )  # fmt: skip
