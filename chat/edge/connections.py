"""The app's client connections: a request aiohttp's parser refuses is answered without quoting it
and with the security headers, and idle connections can be closed when descriptors run short.

aiohttp answers such a request (a bad request line, header or chunk) from
`RequestHandler.handle_error`, before any of the app's code runs: no middleware and no
`on_response_prepare` sees it, and its text quotes the offending bytes (aio-libs/aiohttp#3287,
#9882). That method is the one place to change it, so the server made for this app, when the app is
the one being served, builds connections that override it.
"""

from __future__ import annotations

import logging
import weakref
from http import HTTPStatus
from typing import Any

from aiohttp import web

from chat.errors import catalogue, error_response
from chat.errors.chat_error import ChatError
from chat.internals.private_api import connection_arguments, on_server_made, request_in_progress
from chat.log.lines import RefusalLog

BAD_REQUEST = ChatError(catalogue.BAD_REQUEST)


class ChatConnection(web.RequestHandler):
    """One client connection, with aiohttp's own answers to requests it cannot read replaced."""

    __slots__ = ("_refusals", "_security_headers")

    def __init__(
        self, manager: web.Server, *, security_headers: dict[str, str], refusals: RefusalLog, **options: Any
    ) -> None:
        super().__init__(manager, **options)
        self._security_headers = security_headers
        self._refusals = refusals

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status != HTTPStatus.BAD_REQUEST:
            # The app's own handler failed (500, 504): the request passed routing, so the app's
            # `on_response_prepare` adds the headers, and aiohttp's text quotes nothing.
            return super().handle_error(request, status, exc, message)
        # Only the parser answers 400 from here; its `message` quotes the bytes it refused.
        self._refusals.refused(BAD_REQUEST.code, f"ip:{request.remote}", reason=type(exc).__name__)
        response = error_response(BAD_REQUEST)
        response.headers.update(self._security_headers)
        response.force_close()
        return response

    @property
    def idle(self) -> bool:
        """Open and serving no request: between requests, or not sent a whole one yet."""
        return self.transport is not None and not request_in_progress(self)


class ChatServer(web.Server):
    """The server aiohttp made for the app, with the same options; only its connections differ."""

    def __init__(self, server: web.Server, security_headers: dict[str, str]) -> None:
        loop, options = connection_arguments(server)  # what the runner passed for each connection
        self._options: dict[str, Any] = {"loop": loop, **options}
        super().__init__(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            **self._options,
        )
        self._security_headers = security_headers
        self._refusals = RefusalLog(logging.getLogger("chat.access"))

    def __call__(self) -> ChatConnection:
        return ChatConnection(self, security_headers=self._security_headers, refusals=self._refusals, **self._options)

    def shed_idle(self) -> int:
        """Close every idle connection; how many."""
        idle = [
            connection for connection in self.connections if isinstance(connection, ChatConnection) and connection.idle
        ]
        for connection in idle:
            connection.force_close()
        return len(idle)


class Connections:
    """The servers made for the app (one per runner), for closing their idle connections."""

    def __init__(self) -> None:
        self._servers: weakref.WeakSet[ChatServer] = weakref.WeakSet()

    def add(self, server: ChatServer) -> None:
        self._servers.add(server)

    def shed_idle(self) -> int:
        return sum(server.shed_idle() for server in list(self._servers))


def serve_chat_connections(app: web.Application, security_headers: dict[str, str]) -> Connections:
    """Make the server of `app`, when it is the app a runner serves, a ChatServer. (A host that
    mounts the app as a sub-application serves its own connections.)"""
    connections = Connections()

    def chat_server(server: web.Server) -> web.Server:
        made = ChatServer(server, security_headers)
        connections.add(made)
        return made

    on_server_made(app, chat_server)
    return connections


connections_key = web.AppKey("connections_key", Connections)
