"""Where the server listens: its URL as printed, and one line, not a traceback, when it cannot listen."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.run.listen import cannot_listen, url

from .processes import SERVER, server_environment


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


async def bind_error(host: str, port: int) -> OSError:
    """What asyncio raises when asked to listen on `host:port` (as `web.run_app` asks it)."""
    try:
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, host, port)
    except OSError as error:
        return error
    server.close()
    raise AssertionError(f"listening on {host}:{port} worked")


def test_an_ipv6_address_is_written_in_brackets() -> None:
    assert url("::1", 8080) == "http://[::1]:8080/"
    assert url("127.0.0.1", 8080) == "http://127.0.0.1:8080/"
    assert url("chat.example.com", 80) == "http://chat.example.com:80/"


async def test_a_port_in_use_is_one_line_naming_port(taken_port: int) -> None:
    assert cannot_listen(await bind_error("127.0.0.1", taken_port), "127.0.0.1", taken_port) == (
        f"error: cannot listen on 127.0.0.1:{taken_port}: address already in use (set PORT/--port to a free port)"
    )


async def test_an_address_not_on_this_machine_is_one_line_naming_host() -> None:
    error = await bind_error("192.0.2.1", 8080)  # TEST-NET-1: no machine's own address
    assert cannot_listen(error, "192.0.2.1", 8080) == (
        "error: cannot listen on 192.0.2.1:8080: the address is not one of this machine's "
        "(set HOST/--host to one of its addresses)"
    )


def test_a_host_that_does_not_resolve_is_one_line_naming_host() -> None:
    error = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert cannot_listen(error, "chat.invalid", 8080) == (
        "error: cannot listen on chat.invalid:8080: the host name does not resolve "
        "(set HOST/--host to an address of this machine)"
    )


def test_other_errors_are_no_bind_failure() -> None:
    assert cannot_listen(OSError(errno.ECONNREFUSED, "Connection refused"), "::1", 8080) is None
    assert cannot_listen(FileNotFoundError(errno.ENOENT, "No such file"), "::1", 8080) is None


async def run_server(*args: str, cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        *args,
        env=server_environment(),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.slow
async def test_a_server_on_a_port_in_use_says_so_in_one_line_and_exits_2(taken_port: int, tmp_path: Path) -> None:
    process = await run_server("--port", str(taken_port), cwd=tmp_path)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2, stderr.decode()
    assert b"Traceback" not in stderr
    assert stderr.decode().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{taken_port}: address already in use (set PORT/--port to a free port)"
    )
    assert b"chat server on" not in stdout


@pytest.mark.slow
@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
async def test_a_server_on_ipv6_loopback_prints_its_url_in_brackets(unused_tcp_port: int, tmp_path: Path) -> None:
    process = await run_server("--host", "::1", "--port", str(unused_tcp_port), cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.startswith(f"chat server on http://[::1]:{unused_tcp_port}/ ".encode()), line
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 10)
