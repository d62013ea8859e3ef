"""The page's static files, read once at start and served from memory: each compressed once (gzip),
with a strong ETag, under a versioned URL cached for a year.

A file's version is a hash of its bytes and of every module it loads, however indirectly: a module's
text names its imports with their versions (module_graph.py), so a change to any file gives a new URL
to it and to everything that imports it, and no cached module can outlive a deploy. The page names the
versioned URLs (`StaticFiles.url`) and preloads the modules its script imports before it runs
(`StaticFiles.preloads`), so the browser fetches them all at once instead of one level at a time.
No build step: this is all done from web/static when the app is made."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import mimetypes
from pathlib import Path

from aiohttp import hdrs, web

from chat.edge import module_graph

# Versioned URLs (`?v=` the file's version) never change content: a browser keeps them without asking.
IMMUTABLE = "public, max-age=31536000, immutable"
# Anything else may change with a deploy: kept, but checked each time (a 304 when unchanged).
REVALIDATE = "no-cache"
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
TEXT_TYPES = ("text/", "application/javascript", "application/json")


@dataclasses.dataclass(frozen=True)
class Representation:
    body: bytes
    etag: str


@dataclasses.dataclass(frozen=True)
class StaticFile:
    path: str  # inside the static directory, with forward slashes: "messages/live-answer.js"
    version: str
    content_type: str
    plain: Representation
    gzipped: Representation | None  # None when gzip would not make it smaller by a tenth

    def representation(self, accept_encoding: str) -> tuple[Representation, bool]:
        if self.gzipped is not None and accepts_gzip(accept_encoding):
            return self.gzipped, True
        return self.plain, False


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (by name or `*`, with a quality above zero)."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, parameters = item.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        qualities[coding.strip()] = quality
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison: `*`, or any listed tag with the same opaque value."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()[:16]


def _content_type(path: str) -> str:
    guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if path.endswith((".js", ".mjs")):
        guessed = "text/javascript"
    return f"{guessed}; charset=utf-8" if guessed.startswith(TEXT_TYPES) else guessed


def _file(path: str, body: bytes, version: str) -> StaticFile:
    content_type = _content_type(path)
    etag = _digest(body)
    plain = Representation(body, f'"{etag}"')
    gzipped = None
    if content_type.startswith(COMPRESSIBLE):
        # Level 9 once, at start; mtime=0 so that the same bytes always give the same gzip.
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        if len(packed) < len(body) * 0.9:
            gzipped = Representation(packed, f'"{etag}-gzip"')
    return StaticFile(path, version, content_type, plain, gzipped)


class StaticFiles:
    """Every file of a static directory, as served."""

    def __init__(self, sources: dict[str, bytes], entry: str = "app.js") -> None:
        # surrogateescape: whatever bytes a module holds come back out as they were.
        scripts = [path for path in sources if path.endswith(".js")]
        modules = {path: sources[path].decode(errors="surrogateescape") for path in scripts}
        self.graph = {path: module_graph.scan(path, text, sources) for path, text in modules.items()}
        own = {path: _digest(path.encode(), body) for path, body in sources.items()}

        def version(path: str) -> str:
            loaded = module_graph.reachable(path, self.graph, lazy=True)
            return _digest(*(own[name].encode() for name in sorted(loaded)))

        versions = {path: version(path) for path in sources}
        self.files: dict[str, StaticFile] = {}
        for path, body in sources.items():
            if path in modules:
                served = module_graph.versioned_text(path, modules[path], versions.get)
                body = served.encode(errors="surrogateescape")
            self.files[path] = _file(path, body, versions[path])
        modules_first = module_graph.reachable(entry, self.graph, lazy=False)
        self._preloads = tuple(self.url(path) for path in modules_first[1:])

    def url(self, path: str) -> str:
        """`static/<path>?v=<version>`, relative to the page (the app may be mounted under a prefix)."""
        return f"static/{path}?v={self.files[path].version}"

    def preloads(self) -> tuple[str, ...]:
        """The versioned URLs of every module the entry script imports before it runs, itself aside."""
        return self._preloads

    def response(self, request: web.Request, path: str) -> web.Response:
        file = self.files.get(path)
        if file is None:
            raise web.HTTPNotFound()
        representation, gzipped = file.representation(request.headers.get(hdrs.ACCEPT_ENCODING, ""))
        headers = {
            hdrs.ETAG: representation.etag,
            hdrs.CACHE_CONTROL: IMMUTABLE if request.query.get("v") == file.version else REVALIDATE,
        }
        if file.gzipped is not None:
            headers[hdrs.VARY] = hdrs.ACCEPT_ENCODING
        if etag_matches(request.headers.get(hdrs.IF_NONE_MATCH, ""), representation.etag):
            return web.Response(status=304, headers=headers)
        if gzipped:
            headers[hdrs.CONTENT_ENCODING] = "gzip"
        return web.Response(body=representation.body, headers={**headers, hdrs.CONTENT_TYPE: file.content_type})


def read_sources(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` (hidden ones aside), by its path inside it."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    }


def load_static_files(directory: Path) -> StaticFiles:
    """The files of `directory` as served: made once per process for the same bytes (the tests make
    hundreds of apps; compressing takes 0.2 s, reading and comparing 2 ms), again when any changes."""
    sources = read_sources(directory)
    return _prepared(_digest(*(part for path, body in sources.items() for part in (path.encode(), body))), sources)


_PREPARED: dict[str, StaticFiles] = {}  # by the digest of the files' paths and bytes, the last few


def _prepared(digest: str, sources: dict[str, bytes]) -> StaticFiles:
    if digest not in _PREPARED:
        while len(_PREPARED) >= 4:
            del _PREPARED[next(iter(_PREPARED))]
        _PREPARED[digest] = StaticFiles(sources)
    return _PREPARED[digest]


static_files_key = web.AppKey("static_files", StaticFiles)


async def static_file(request: web.Request) -> web.Response:
    return request.app[static_files_key].response(request, request.match_info["path"])
