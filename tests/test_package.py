"""The package as a user installs it: every package of chat/ and the page's files in the wheel, every
library the code imports declared, and an installed copy that starts from anywhere and answers."""

from __future__ import annotations

import ast
import asyncio
import configparser
import re
import shutil
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import aiohttp
import pytest

from .processes import server_environment
from .sse_client import chat_body, read_events, text_of

ROOT = Path(__file__).resolve().parent.parent
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")
# What a wheel is built from: the rest of the checkout (tests, bench, docs) is not installed.
SOURCES = ("chat", "web", "setup.cfg", "pyproject.toml", "README.md")
# Where a library the code imports is not installed here (an optional extra), the package that has it.
NOT_INSTALLED = {"azure": "azure-identity"}


def listed(option: str, section: str = "options") -> list[str]:
    return [line.strip() for line in SETUP[section][option].splitlines() if line.strip() and not line.startswith("#")]


def normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def declared_distributions() -> set[str]:
    requirements = listed("install_requires") + [
        line for extra in SETUP["options.extras_require"].values() for line in extra.splitlines()
    ]
    return {normalized(match[0]) for line in requirements if (match := re.match(r"[A-Za-z0-9_.-]+", line.strip()))}


def imported_names() -> dict[str, str]:
    """Each top-level module imported by chat/ outside the standard library: a file importing it."""
    names: dict[str, str] = {}
    for path in sorted((ROOT / "chat").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top != "chat" and top not in sys.stdlib_module_names:
                    names.setdefault(top, str(path.relative_to(ROOT)))
    return names


def test_every_package_of_chat_is_installed() -> None:
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "chat").rglob("__init__.py")}
    assert sorted(listed("packages")) == sorted({*on_disk, "chat.web"})
    assert listed("package_dir") == ["chat.web = web"]


def test_every_library_the_code_imports_is_declared() -> None:
    declared = declared_distributions()
    distributions = packages_distributions()
    undeclared = {
        name: where
        for name, where in imported_names().items()
        if not declared & {normalized(d) for d in distributions.get(name) or [NOT_INSTALLED.get(name, name)]}
    }
    assert not undeclared, f"imported but not in setup.cfg install_requires (or an extra): {undeclared}"


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
async def test_the_installed_package_starts_from_another_directory_and_answers(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    source, target, elsewhere = tmp_path / "source", tmp_path / "installed", tmp_path / "elsewhere"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source)
    elsewhere.mkdir()
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    # Built with the suite's own setuptools (the test extra): an isolated build would first install
    # setuptools into a fresh environment, which took 30 of this test's 40 seconds.
    wheel_dir = tmp_path / "dist"
    await asyncio.to_thread(
        run, *pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", wheel_dir, source, cwd=tmp_path
    )
    (wheel,) = wheel_dir.glob("*.whl")
    await asyncio.to_thread(run, *pip, "install", "--no-deps", "--no-compile", "--target", target, wheel, cwd=tmp_path)
    shutil.rmtree(source)  # nothing may come from the sources any more

    environment = server_environment(PYTHONPATH=str(target))
    found = "import chat, chat.edge.routes as r; print(chat.__file__); print(r.WEB_DIR)"
    where = (await asyncio.to_thread(run, sys.executable, "-c", found, cwd=elsewhere, env=environment)).split()
    assert where == [str(target / "chat" / "__init__.py"), str(target / "chat" / "web")]

    process = await asyncio.create_subprocess_exec(
        target / "bin" / "chat-server",
        "--port",
        str(unused_tcp_port),
        cwd=elsewhere,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.startswith(f"chat server on http://127.0.0.1:{unused_tcp_port}/".encode()), line
        base = f"http://127.0.0.1:{unused_tcp_port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.get(f"{base}/") as page:
                assert page.status == 200
                # Versioned URLs: `static/app.js?v=<content hash>`.
                scripts = re.findall(r'src="/?(static/[^"?]+\.js)(\?[^"]*)?"', await page.text())
            assert scripts
            path, version = scripts[0]
            async with session.get(f"{base}/{path}{version}") as script:
                assert script.status == 200
                assert "javascript" in script.content_type
                # The installed file, its imports given their versions (chat/edge/module_graph.py).
                served = re.sub(rb"\?v=[^\"']+", b"", await script.read())
                assert served == (target / "chat" / "web" / path).read_bytes()
            async with session.post(f"{base}/api/chat", json=chat_body("Hi")) as answer:
                assert answer.status == 200
                events, _ = await read_events(answer)
        assert events[-1].name == "done"
        assert text_of(events).startswith("You asked: *Hi*")
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), 30)
