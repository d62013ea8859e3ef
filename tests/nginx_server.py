"""Debian's nginx running the project's own recipe (deploy/nginx.conf), without TLS, in front of
chat servers on loopback: the recipe is what is tested, not a stand-in."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from chat.run.children import free_port

RECIPE = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"


def configuration(recipe: str, backends: list[int], port: int, directory: Path, **replaced: str) -> str:
    """The recipe with its upstream servers, a plain loopback listener, and directives in `replaced`
    (e.g. a shorter proxy_read_timeout) swapped; inside a minimal main configuration."""
    servers = "\n    ".join(f"server 127.0.0.1:{backend};" for backend in backends)
    recipe = recipe.replace("server 127.0.0.1:8080;", servers)
    recipe = re.sub(r"listen \d+ ssl( http2)?;", f"listen 127.0.0.1:{port};", recipe)
    recipe = "\n".join(line for line in recipe.splitlines() if not line.strip().startswith("ssl_"))
    for directive, value in replaced.items():
        recipe, count = re.subn(rf"({directive}\s+)[^;]+;", rf"\g<1>{value};", recipe)
        assert count, f"the recipe has no {directive}"
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return (
        f"daemon off;\npid {directory / 'nginx.pid'};\nerror_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        + "".join(
            f"  {name}_temp_path {path};\n" if name != "body" else f"  client_body_temp_path {path};\n"
            for name, path in temp.items()
        )
        + recipe
        + "\n}\n"
    )


class NginxServer:
    def __init__(self, backends: list[int], directory: Path, **replaced: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._directory = directory
        self._config = directory / "nginx.conf"
        self._config.write_text(configuration(RECIPE.read_text(), backends, self.port, directory, **replaced))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self._process = subprocess.Popen([binary, "-p", str(self._directory), "-c", str(self._config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # a child process of our own, not an event we could await
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self._directory / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
