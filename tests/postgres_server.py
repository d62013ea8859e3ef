"""A real PostgreSQL (Debian's `postgresql` package): a cluster made with `initdb` in a temporary
directory, listening on a free loopback port with a password, for the tests of the conversation store
on PostgreSQL. PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from chat.run.children import free_port

SUPERUSER = "chat"


def postgres_binaries() -> Path | None:
    """The directory of `initdb` and `postgres`: Debian keeps them by major version, off the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    def __init__(self, directory: Path) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self._binaries = binaries
        self._directory = directory
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        return f"postgresql://{SUPERUSER}:{password or self.password}@127.0.0.1:{self.port}/{database}"

    @staticmethod
    def _owner() -> tuple[int, int] | None:
        """The `postgres` user's ids when we are root (PostgreSQL will not run as root), else None."""
        if os.geteuid() != 0:
            return None
        user = pwd.getpwnam("postgres")
        return user.pw_uid, user.pw_gid

    def start(self) -> None:
        data = self._directory / "cluster"
        owner = self._owner()
        uid, gid = owner if owner else (None, None)
        groups: list[int] | None = [] if owner else None
        password_file = self._directory / "password"
        password_file.write_text(self.password)
        if owner:
            os.chown(self._directory, *owner)
            os.chown(password_file, *owner)
        subprocess.run(
            [
                str(self._binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
                "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8", "--no-sync",
            ],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=uid, group=gid, extra_groups=groups,
        )  # fmt: skip
        password_file.unlink()
        self._process = subprocess.Popen(
            [
                str(self._binaries / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self._directory),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=100",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=uid, group=gid, extra_groups=groups,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a child process of our own, not an event we could await
            if self._process.poll() is not None:
                raise RuntimeError("postgres stopped at start")
            # Accepting connections, not only listening (a cluster still starting up refuses them).
            ready = [str(self._binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
            if subprocess.run(ready, check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)  # fast shutdown: it ends its sessions, then stops
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
