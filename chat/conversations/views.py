"""The routes of conversations kept on the server: `GET /api/conversations` (newest first, paged,
searched) and `GET`, `PUT`, `PATCH`, `DELETE /api/conversations/{id}`, each answer with its `ETag` and
each write checked against `If-Match` (412 when it no longer matches). Only the owner sees a
conversation: another client's id is answered as an unknown one."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from chat.access.client_access import client_access_key
from chat.config.settings import settings_key
from chat.conversations import drafts
from chat.conversations.repository import Changed, ConversationRepository, Summary, TooManyConversations
from chat.conversations.store import conversations_key
from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError
from chat.log.lines import line

log = logging.getLogger("chat.conversations")

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_QUERY_CHARS = 200
LIST_PARAMETERS = frozenset({"before", "limit", "q"})
_CURSOR = re.compile(r"(\d{1,16})(?:\.([A-Za-z0-9_-]{1,64}))?")

Handler = Callable[[web.Request, ConversationRepository, str], Awaitable[web.StreamResponse]]


def conversation_view(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The checks every route shares: history kept for this client, errors as the catalogue's answers,
    a database that fails answered 503 (and logged)."""

    async def view(request: web.Request) -> web.StreamResponse:
        store = request.app[conversations_key]
        client = request[client_access_key].client
        try:
            if request.app[settings_key].history != "server":
                raise ChatError(catalogue.HISTORY_OFF)
            if not store.keeps_history(client) or store.repository is None:
                raise ChatError(catalogue.HISTORY_IN_BROWSER)
            return await handler(request, store.repository, client)
        except ChatError as error:
            return error_response(error)
        except Changed as changed:
            response = error_response(ChatError(catalogue.CONVERSATION_CHANGED))
            if changed.current is not None:
                response.headers["ETag"] = changed.current
            return response
        except web.HTTPException:
            raise
        except Exception as error:  # the drivers' errors share no base
            why = f"{type(error).__name__}: {str(error)[:200]}"
            log.warning(line("history_unavailable", path=request.path, why=why))
            return error_response(ChatError(catalogue.HISTORY_UNAVAILABLE))

    return view


def json_response(document: object, *, status: int = 200, etag: str | None = None) -> web.Response:
    response = web.Response(status=status, body=orjson.dumps(document), content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    if etag is not None:
        response.headers["ETag"] = etag
    return response


async def json_body(request: web.Request) -> object:
    settings = request.app[settings_key]
    if request.content_type != "application/json":
        raise ChatError(catalogue.UNSUPPORTED_MEDIA_TYPE)
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise ChatError(catalogue.BODY_TOO_LARGE, limit=settings.max_body_bytes)
    try:
        async with asyncio.timeout(settings.body_timeout):
            body = await request.content.read(settings.max_body_bytes + 1)
    except TimeoutError:
        raise ChatError(catalogue.REQUEST_TIMEOUT) from None
    if len(body) > settings.max_body_bytes:
        raise ChatError(catalogue.BODY_TOO_LARGE, limit=settings.max_body_bytes)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ChatError(catalogue.INVALID_JSON) from None


def _page_query(request: web.Request) -> tuple[tuple[int, str] | None, int, str | None]:
    query = request.query
    if unknown := set(query) - LIST_PARAMETERS:
        raise drafts.invalid(f"Unknown parameter {sorted(unknown)[0]!r}; only `before`, `limit` and `q` are taken.")
    before = None
    if "before" in query:
        if not (match := _CURSOR.fullmatch(query["before"])):
            raise drafts.invalid("`before` must be a time in milliseconds, or the `next` of the page before.")
        before = (int(match[1]), match[2] or "")
    limit = DEFAULT_PAGE
    if "limit" in query:
        if not query["limit"].isdigit() or not 1 <= int(query["limit"]) <= MAX_PAGE:
            raise drafts.invalid(f"`limit` must be a whole number from 1 to {MAX_PAGE}.")
        limit = int(query["limit"])
    search = query.get("q")
    if search is not None and len(search) > MAX_QUERY_CHARS:
        raise drafts.invalid(f"`q` has {len(search)} characters; the limit is {MAX_QUERY_CHARS}.")
    return before, limit, search.strip() or None if search is not None else None


@conversation_view
async def list_conversations(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    before, limit, search = _page_query(request)
    found = await repository.list(client, before=before, limit=limit, search=search)
    last: Summary | None = found[-1] if len(found) == limit else None
    return json_response(
        {"conversations": [summary.as_json() for summary in found], "next": last.cursor if last else None}
    )


def _id(request: web.Request) -> str:
    return drafts.conversation_id(request.match_info["id"])


@conversation_view
async def get_conversation(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    conversation = await repository.get(client, _id(request))
    if conversation is None:
        raise ChatError(catalogue.CONVERSATION_NOT_FOUND)
    etag = conversation.summary.etag
    if etag in (request.headers.get("If-None-Match") or "").split(", "):
        response = web.Response(status=304)
        response.headers["ETag"] = etag
        return response
    return json_response(conversation.as_json(), etag=etag)


@conversation_view
async def put_conversation(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    conversation_id = _id(request)
    draft = drafts.conversation_body(await json_body(request), request.app[settings_key])
    try:
        summary, made = await repository.put(client, conversation_id, draft, request.headers.get("If-Match"))
    except TooManyConversations:
        raise ChatError(catalogue.TOO_MANY_CONVERSATIONS, limit=repository.limits.conversations) from None
    return json_response(summary.as_json(), status=201 if made else 200, etag=summary.etag)


@conversation_view
async def patch_conversation(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    conversation_id = _id(request)
    title = drafts.rename_body(await json_body(request))
    summary = await repository.rename(client, conversation_id, title, request.headers.get("If-Match"))
    if summary is None:
        raise ChatError(catalogue.CONVERSATION_NOT_FOUND)
    return json_response(summary.as_json(), etag=summary.etag)


@conversation_view
async def delete_conversation(request: web.Request, repository: ConversationRepository, client: str) -> web.Response:
    if not await repository.delete(client, _id(request), request.headers.get("If-Match")):
        raise ChatError(catalogue.CONVERSATION_NOT_FOUND)
    return web.Response(status=204)


def setup_conversation_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations", list_conversations, name="conversations")
    app.router.add_get("/api/conversations/{id}", get_conversation, name="conversation")
    app.router.add_put("/api/conversations/{id}", put_conversation)
    app.router.add_patch("/api/conversations/{id}", patch_conversation)
    app.router.add_delete("/api/conversations/{id}", delete_conversation)
