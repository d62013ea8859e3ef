"""The routes of share links: `POST /api/conversations/{id}/share` makes one (`{"url", "token"}`, and
an optional `expires_in` in seconds), `GET /api/shares` lists the client's, `DELETE /api/shares/{token}`
revokes one. Only a conversation's owner shares it, and only a link's owner lists or revokes it:
another client's id or token is answered as an unknown one."""

from __future__ import annotations

from aiohttp import web

from chat.access.control import SHARED_PAGE_ROUTE
from chat.config.settings import settings_key
from chat.conversations import drafts
from chat.conversations.repository import ConversationRepository, now_ms
from chat.conversations.views import conversation_view, json_body, json_response
from chat.errors import catalogue
from chat.errors.chat_error import ChatError
from chat.sharing.links import MAX_SHARES, TOKEN, ShareLinks, TooManyShares
from chat.sharing.page import shared_page

MAX_EXPIRY_S = 366 * 24 * 3600
SHARE_FIELDS = frozenset({"expires_in"})


def sharing_on(request: web.Request) -> None:
    if request.app[settings_key].share == "off":
        raise ChatError(catalogue.SHARING_OFF)


def expiry(document: object) -> int | None:
    """When a new link expires (milliseconds since 1970), from `{"expires_in": seconds}`; None: never."""
    if not isinstance(document, dict):
        raise drafts.invalid('The body must be a JSON object: {"expires_in": seconds} or {}.')
    if unknown := set(document) - SHARE_FIELDS:
        raise drafts.invalid(f"Unknown field {sorted(unknown)[0]!r}; a share link takes only `expires_in`.")
    seconds = document.get("expires_in")
    if seconds is None:
        return None
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_EXPIRY_S:
        raise drafts.invalid(f"`expires_in` must be a whole number of seconds from 1 to {MAX_EXPIRY_S} (a year).")
    return now_ms() + seconds * 1000


@conversation_view
async def share_conversation(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    sharing_on(request)
    conversation_id = drafts.conversation_id(request.match_info["id"])
    expires = expiry(await json_body(request) if request.body_exists else {})
    try:
        link = await ShareLinks(repository.database).share(client, conversation_id, expires)
    except TooManyShares:
        raise ChatError(catalogue.TOO_MANY_SHARES, limit=MAX_SHARES) from None
    if link is None:
        raise ChatError(catalogue.CONVERSATION_NOT_FOUND)
    return json_response(link.as_json(now_ms()), status=201)


@conversation_view
async def list_shares(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    sharing_on(request)
    now = now_ms()
    return json_response({"shares": [link.as_json(now) for link in await ShareLinks(repository.database).list(client)]})


@conversation_view
async def revoke_share(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    sharing_on(request)
    token = request.match_info["token"]
    if not TOKEN.fullmatch(token) or not await ShareLinks(repository.database).revoke(client, token):
        raise ChatError(catalogue.SHARE_NOT_FOUND)
    return web.Response(status=204)


def setup_share_routes(app: web.Application) -> None:
    app.router.add_post("/api/conversations/{id}/share", share_conversation)
    app.router.add_get("/api/shares", list_shares, name="shares")
    app.router.add_delete("/api/shares/{token}", revoke_share)
    app.router.add_get("/s/{token}", shared_page, name=SHARED_PAGE_ROUTE)
