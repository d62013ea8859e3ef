"""Where the server listens, as the command line prints it: its URL, and one line when it cannot."""

from __future__ import annotations

import errno
import socket

# Why a bind fails, and what to set instead: an OSError with another errno is no bind failure.
BIND_FAILURES = {
    errno.EADDRINUSE: ("address already in use", "set PORT/--port to a free port"),
    errno.EADDRNOTAVAIL: ("the address is not one of this machine's", "set HOST/--host to one of its addresses"),
    errno.EACCES: ("permission denied", "set PORT/--port to 1024 or above"),
}


def address(host: str, port: int) -> str:
    """`host:port`, an IPv6 address in brackets (`[::1]:8080`)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def url(host: str, port: int) -> str:
    return f"http://{address(host, port)}/"


def cannot_listen(error: OSError, host: str, port: int) -> str | None:
    """The one line saying why the server could not listen on `host:port`, if that is what `error` says."""
    if isinstance(error, socket.gaierror):
        reason, remedy = "the host name does not resolve", "set HOST/--host to an address of this machine"
    elif error.errno in BIND_FAILURES:
        reason, remedy = BIND_FAILURES[error.errno]
    else:
        return None
    return f"error: cannot listen on {address(host, port)}: {reason} ({remedy})"
