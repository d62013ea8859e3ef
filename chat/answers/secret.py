"""Who may read or stop an answer: the client that asked, and for an anonymous client (known only
by its address, which others behind the same NAT share) also the per-answer secret its page keeps.
Only the secret's digest is kept, in memory or in Redis; neither the secret nor the digest is logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web

SECRET_HEADER = "X-Answer-Secret"
ANONYMOUS = "ip:"  # the prefix of a client known by its address alone


def new_answer_id() -> str:
    return secrets.token_urlsafe(12)  # 96 random bits: not guessable, short in a URL


def new_secret() -> tuple[str, bytes]:
    """A secret for the page, and the digest the server keeps."""
    secret = secrets.token_urlsafe(18)
    return secret, digest(secret)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def may_read(owner: str, kept: bytes, client: str, secret: str | None) -> bool:
    """Whether `client`, showing `secret`, is the one who asked."""
    if not hmac.compare_digest(owner.encode(), client.encode()):
        return False
    if not client.startswith(ANONYMOUS):
        return True
    return secret is not None and hmac.compare_digest(kept, digest(secret))


def secret_of(request: web.Request, form: dict[str, str] | None = None) -> str | None:
    """The secret a request shows: its header, or (from `navigator.sendBeacon`, which sends no
    headers of its own) a `secret` field of its form body. Never in the URL, which logs keep."""
    secret = request.headers.get(SECRET_HEADER)
    if secret is None and form is not None:
        secret = form.get("secret")
    return secret[:100] if secret else None
