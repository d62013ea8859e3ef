"""The page of a share link, `/s/{token}`: the snapshot drawn by the page's own markdown under the
same strict Content-Security-Policy (its data is a JSON block the script reads, never markup), with
"Continue this chat", which copies it into the reader's own history. Who may open it is CHAT_SHARE:
`team`, anyone signed in (access control asks the others to sign in); `public`, anyone with the link
(chat/access/control.py lets this route through unsigned). An unknown, revoked or expired token, and
any token while sharing is off, is the same 404."""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web

from chat.access.client_access import client_access_key
from chat.config.settings import settings_key
from chat.conversations.store import conversations_key
from chat.edge.pages import page_response, refusal_page
from chat.edge.static_files import static_files_key
from chat.errors import catalogue
from chat.log.lines import line
from chat.sharing.links import TOKEN, ShareLinks

log = logging.getLogger("chat.sharing")

# From /s/<token> to the app's root (its static files, the chat): every URL stays relative, for a prefix.
ROOT = "../"


def not_found(request: web.Request) -> web.Response:
    return refusal_page(request, 404, "No such link", catalogue.SHARE_NOT_FOUND.template, root=ROOT)


async def shared_page(request: web.Request) -> web.Response:
    settings = request.app[settings_key]
    repository = request.app[conversations_key].repository
    token = request.match_info["token"]
    signed_in = client_access_key in request and not request[client_access_key].client.startswith("ip:")
    if settings.share == "off" or repository is None or not TOKEN.fullmatch(token):
        return not_found(request)
    if settings.share == "team" and not signed_in:
        return not_found(request)  # access control has asked for sign-in already, when anyone can sign in
    try:
        snapshot = await ShareLinks(repository.database).open(token)
    except Exception as error:  # the drivers' errors share no base
        log.warning(line("history_unavailable", path="/s/", why=f"{type(error).__name__}: {str(error)[:200]}"))
        return refusal_page(request, 503, "Not available just now", catalogue.HISTORY_UNAVAILABLE.template, root=ROOT)
    if snapshot is None:
        return not_found(request)
    context = {
        "static": request.app[static_files_key],
        "root": ROOT,
        "title": snapshot.link.title,
        "snapshot": snapshot.as_json(),
    }
    response = page_response(aiohttp_jinja2.render_template("share.html", request, context))
    # Never kept by a cache: a revoked link must stop showing at once, and a team's page stays the team's.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
