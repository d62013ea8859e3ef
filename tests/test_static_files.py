"""The page's static files: served from memory, gzipped, with ETags and 304s, under versioned URLs
that change with any file a module loads; and the page naming them, with every module preloaded."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from chat.edge import module_graph
from chat.edge.routes import WEB_DIR
from chat.edge.static_files import IMMUTABLE, REVALIDATE, StaticFiles, accepts_gzip, load_static_files

from .sse_client import chat_body
from .typedefs import Client

STATIC = WEB_DIR / "static"


async def page_urls(client: Client) -> dict[str, list[str]]:
    html = await (await client.get("/")).text()
    return {
        "preloads": re.findall(r'<link rel="modulepreload" href="([^"]+)">', html),
        "script": re.findall(r'<script type="module" src="([^"]+)">', html),
        "styles": re.findall(r'<link[^>]* rel="stylesheet" href="([^"]+)"', html),
    }


async def test_a_versioned_file_is_gzipped_and_kept_for_a_year(client: Client) -> None:
    [script] = (await page_urls(client))["script"]
    assert re.fullmatch(r"static/app\.js\?v=[0-9a-f]{16}", script)
    packed = await client.get(f"/{script}", headers={"Accept-Encoding": "gzip, br"}, auto_decompress=False)
    assert packed.status == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert packed.headers["Cache-Control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert packed.headers["Content-Type"] == "text/javascript; charset=utf-8"
    plain = await client.get(f"/{script}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    text = await plain.read()
    assert gzip.decompress(await packed.read()) == text
    assert len(await packed.read()) < len(text) / 2
    # Its imports name the versions of the modules they load; nothing else of the file changes.
    assert re.sub(rb"\?v=[0-9a-f]{16}", b"", text) == (STATIC / "app.js").read_bytes()
    assert b'from "./actions/controller.js?v=' in text


async def test_a_match_of_the_etag_gets_304_and_no_body(client: Client) -> None:
    first = await client.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}-gzip"', etag), etag  # strong, and one per encoding
    assert first.headers["Cache-Control"] == REVALIDATE == "no-cache"  # unversioned: checked each time
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get(
            "/static/style.css", headers={"Accept-Encoding": "gzip", "If-None-Match": if_none_match}
        )
        assert again.status == 304, if_none_match
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
    # The plain bytes are another representation, with a tag of their own.
    plain = await client.get("/static/style.css", headers={"Accept-Encoding": "identity", "If-None-Match": etag})
    assert plain.status == 200
    assert plain.headers["ETag"] == etag.removesuffix('-gzip"') + '"'


async def test_an_old_version_is_not_kept(client: Client) -> None:
    [script] = (await page_urls(client))["script"]
    stale = await client.get(re.sub(r"v=\w+", "v=0000000000000000", f"/{script}"))
    assert stale.status == 200
    assert stale.headers["Cache-Control"] == REVALIDATE  # today's bytes, not to be kept under that name
    assert (await client.get("/static/nowhere.js")).status == 404
    assert (await client.get("/widget.js")).headers["Cache-Control"] == REVALIDATE  # other sites name it as it is


async def test_the_page_names_versions_and_preloads_its_whole_module_graph(client: Client) -> None:
    page = await client.get("/")
    assert page.headers["Cache-Control"] == "no-cache"  # it names today's versions
    urls = await page_urls(client)
    named = [url for kind in urls.values() for url in kind]
    assert all(re.fullmatch(r"static/[\w/.-]+\?v=[0-9a-f]{16}", url) for url in named)
    assert len(urls["styles"]) == 6
    # Every module app.js imports, however deep, and nothing else: not the entry, not what loads on first use.
    files = StaticFiles({path: (STATIC / path).read_bytes() for path in _sources()})
    graph = module_graph.reachable("app.js", files.graph, lazy=False)
    assert [url.split("?")[0] for url in urls["preloads"]] == [f"static/{path}" for path in graph[1:]]
    assert len(urls["preloads"]) > 30
    assert not any("highlight.min.js" in url or "katex.min.js" in url for url in urls["preloads"])
    for url in urls["preloads"][:3]:
        assert (await client.get(f"/{url}")).headers["Cache-Control"] == IMMUTABLE


async def test_the_event_stream_is_never_compressed(client: Client) -> None:
    answer = await client.post("/api/chat", json=chat_body(), headers={"Accept-Encoding": "gzip, deflate"})
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert "Content-Encoding" not in answer.headers
    await answer.read()


def _sources() -> list[str]:
    return sorted(path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*") if path.is_file())


def test_a_change_gives_a_new_url_to_the_file_and_to_whatever_loads_it(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "app.js").write_text('import { a } from "./lib/a.js";\nexport const x = () => import("./lazy.js");\n')
    (tmp_path / "lib" / "a.js").write_text('export { b as a } from "./b.js";\n')
    (tmp_path / "lib" / "b.js").write_text("export const b = 1;\n")
    (tmp_path / "lazy.js").write_text("export const lazy = 1;\n")
    (tmp_path / "other.js").write_text("export const other = 1;\n")
    (tmp_path / "style.css").write_text("body { color: black; }\n")
    before = load_static_files(tmp_path)
    assert before.preloads() == (before.url("lib/a.js"), before.url("lib/b.js"))  # not lazy.js

    (tmp_path / "lib" / "b.js").write_text("export const b = 2;\n")
    after = load_static_files(tmp_path)
    for changed in ("lib/b.js", "lib/a.js", "app.js"):
        assert after.url(changed) != before.url(changed), changed
    for same in ("lazy.js", "other.js", "style.css"):
        assert after.url(same) == before.url(same), same
    assert f'"./b.js?v={after.files["lib/b.js"].version}"'.encode() in after.files["lib/a.js"].plain.body

    (tmp_path / "lazy.js").write_text("export const lazy = 2;\n")  # what a module loads on first use counts too
    assert load_static_files(tmp_path).url("app.js") != after.url("app.js")
    assert load_static_files(tmp_path) is load_static_files(tmp_path)  # the same bytes: prepared once


def test_the_scanner_finds_imports_as_this_project_writes_them() -> None:
    text = "\n".join(
        [
            "// An import in a comment: import { x } from './commented.js';",
            "/** @param {import('./typed.js').Thing} thing */",
            'import { one, two } from "./one.js";',
            "import {",
            "  three,",
            '} from "../three.js";',
            'import "./side-effect.js";',
            'export { four } from "./four.js";',
            'import DOMPurify from "./vendor/purify.es.js";',
            'import { url } from "https://elsewhere.example/x.js";',
            'const later = () => import("./later.js");',
            'const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });',
            'const already = import("./one.js?v=1");',
        ]
    )
    static = ("dir/one.js", "three.js", "dir/side-effect.js", "dir/four.js", "dir/vendor/purify.es.js")
    known = dict.fromkeys((*static, "dir/later.js", "dir/worker.js", "dir/commented.js", "dir/typed.js"))
    imports = module_graph.scan("dir/main.js", text, known)
    assert imports.static == static
    assert imports.lazy == ("dir/later.js", "dir/worker.js")
    versioned = module_graph.versioned_text("dir/main.js", text, lambda path: path[-6:-3] if path in known else None)
    assert 'from "./one.js?v=one";' in versioned
    assert 'from "../three.js?v=ree";' in versioned
    assert 'import("./later.js?v=ter")' in versioned
    assert 'new URL("./worker.js?v=ker", import.meta.url)' in versioned
    assert 'import("./one.js?v=1")' in versioned  # a specifier with its own query is left as it is
    assert "https://elsewhere.example/x.js" in versioned
    assert "'./commented.js'" in versioned and "'./typed.js'" in versioned  # comments are left alone


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("identity", False),
        ("", False),
        ("*;q=0.5, gzip;q=0", False),
    ],
)
def test_accept_encoding(header: str, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok
