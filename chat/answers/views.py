"""The routes of resumable answers: the resumable `POST /api/chat` (from the relay's handler, once
the body asks for it), `GET /api/answers/{id}` and `POST /api/answers/{id}/stop`."""

from __future__ import annotations

from aiohttp import web

from chat.access.client_access import client_access_key
from chat.answers.local import answers_key
from chat.answers.log import AnswerLog
from chat.answers.running import ABANDONED, LEAVING, STOPPED, ResumableAnswer
from chat.answers.secret import may_read, secret_of
from chat.config.settings import settings_key
from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError
from chat.relay.request import ChatRequest
from chat.relay.scope import ChatScope
from chat.relay.sse import SseResponse, frame, ping_ticker_key
from chat.state.open_streams import open_streams_key
from chat.upstream.service import upstream_key

ANSWER_ID_HEADER = "X-Answer-Id"
MAX_EVENT_ID_DIGITS = 9


async def answer_resumably(request: web.Request, scope: ChatScope, chat: ChatRequest) -> web.StreamResponse:
    """The answer runs in a task of its own; this request is its first reader. The first event names
    it (`answer`, with the secret an anonymous page shows to read or stop it again)."""
    app = request.app
    settings = app[settings_key]
    answer, secret = await app[answers_key].create(scope.outcome.client)
    answer.start(scope, chat, app[upstream_key], chat.max_tokens or settings.token_ceiling)
    answer.window.joined()
    told = False
    sse: SseResponse | None = None
    try:
        await answer.opened.wait()
        if answer.refusal is not None:
            return error_response(answer.refusal)
        sse = await SseResponse.start(
            request, app[ping_ticker_key], settings.write_timeout, headers={ANSWER_ID_HEADER: answer.id}
        )
        await sse.send(frame("answer", {"id": answer.id, "secret": secret}))
        told = True
        await follow(answer.log, 0, sse)
        return sse.response
    except ConnectionError:
        assert sse is not None
        return sse.response
    finally:
        if not told:
            answer.end(ABANDONED)  # nobody knows its id: nobody can come back for it
        answer.window.left()
        if sse is not None:
            await sse.close()


async def follow(log: AnswerLog, after: int, sse: SseResponse) -> None:
    """The events after `after`, then each as it comes, to the end; many at once in one write."""
    sent = after
    while True:
        if len(log) > sent:
            data = log.frames(sent)
            sent = len(log)
            await sse.send(data)
        elif log.finished:
            return
        else:
            await log.changed()


async def get_answer(request: web.Request) -> web.StreamResponse:
    """SSE: the events after `Last-Event-ID` (or `?after=`), then the answer live."""
    try:
        after = _after(request)
        client = request[client_access_key].client
        answers = request.app[answers_key]
        answer_id = request.match_info["id"]
        secret = secret_of(request)
        local = answers.find(answer_id, client, secret)
        if local is None:
            shared = await answers.shared.lookup(answer_id) if answers.shared is not None else None
            if shared is None or not may_read(shared.client, shared.secret_digest, client, secret):
                raise ChatError(catalogue.ANSWER_NOT_FOUND)
        async with answers.reading(client, request.app[open_streams_key]):
            return await _read(request, local, after)
    except ChatError as error:
        return error_response(error)


async def _read(request: web.Request, local: ResumableAnswer | None, after: int) -> web.StreamResponse:
    answers = request.app[answers_key]
    if local is not None:
        local.window.joined()
    sse = None
    try:
        sse = await SseResponse.start(request, request.app[ping_ticker_key], request.app[settings_key].write_timeout)
        if local is not None:
            await follow(local.log, after, sse)
        else:
            assert answers.shared is not None
            await answers.shared.follow(request.match_info["id"], after, sse)
    except ConnectionError:
        pass
    finally:
        if local is not None:
            local.window.left()
        if sse is not None:
            await sse.close()
    return sse.response if sse is not None else web.Response(status=204)


async def stop_answer(request: web.Request) -> web.Response:
    """204 once the Stop is on its way to the process that runs the answer (or it had ended). A form
    body with `leaving=1` (the page's `pagehide` beacon) ends it only if no reader is back within
    LEAVING_GRACE."""
    form = None
    if request.content_type == "application/x-www-form-urlencoded":  # navigator.sendBeacon
        form = {name: value for name, value in (await request.post()).items() if isinstance(value, str)}
    client = request[client_access_key].client
    answers = request.app[answers_key]
    answer_id = request.match_info["id"]
    secret = secret_of(request, form)
    # The page's beacon on `pagehide` cannot tell a reload from a closed tab: it says it is leaving.
    how = LEAVING if (form or {}).get("leaving") == "1" else STOPPED
    if (local := answers.find(answer_id, client, secret)) is not None:
        local.end(how)
        return web.Response(status=204)
    shared = await answers.shared.lookup(answer_id) if answers.shared is not None else None
    if shared is None or not may_read(shared.client, shared.secret_digest, client, secret):
        return error_response(ChatError(catalogue.ANSWER_NOT_FOUND))
    if shared.owner is not None:
        assert answers.shared is not None
        await answers.shared.request_stop(answer_id, shared.owner, how)
    return web.Response(status=204)


def _after(request: web.Request) -> int:
    """The number of the last event the reader has: `Last-Event-ID`, else `?after=`, else 0 (all)."""
    value = request.headers.get("Last-Event-ID", request.query.get("after", "0")).strip()
    if not value.isdigit() or not value.isascii() or len(value) > MAX_EVENT_ID_DIGITS:
        raise ChatError(
            catalogue.INVALID_REQUEST, detail="`Last-Event-ID` (or `after`) must be the number of an event."
        )
    return int(value)
