"""The import graph of the page's JavaScript modules, read from their text: what each module imports
(statically, on first use, or as a worker's script), and its text with each import made versioned.

Not a JavaScript parser: it knows the forms this project writes (`import ... from "./x.js"` and
`export ... from "./x.js"` at the start of a line, `import("./x.js")`, and
`new URL("./x.js", import.meta.url)`), and only relative specifiers. Vendored files import nothing
relative, so their minified text is never changed."""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping

_SPECIFIER = r"""(?P<quote>["'])(?P<specifier>\.\.?/[^"'\n?#]+)(?P=quote)"""

# A static import or re-export: at the start of a line, its names possibly over several lines.
STATIC_IMPORT = re.compile(rf"""^[ \t]*(?:import|export)\b[^"'`;]{{0,2000}}?\bfrom[ \t]*{_SPECIFIER}""", re.M)
BARE_IMPORT = re.compile(rf"""^[ \t]*import[ \t]*{_SPECIFIER}""", re.M)
# Loaded when first needed: a dynamic import, or a worker's script beside the module.
DYNAMIC_IMPORT = re.compile(rf"""\bimport\(\s*{_SPECIFIER}\s*\)""")
MODULE_URL = re.compile(rf"""\bnew URL\(\s*{_SPECIFIER}\s*,\s*import\.meta\.url\s*\)""")
# A JSDoc type (`@param {import("./x.js").Thing}`) or a line comment names a module without loading it.
COMMENT_LINE = re.compile(r"[ \t]*(?:/?\*|//)")  # matched at a line's start


@dataclasses.dataclass(frozen=True)
class ModuleImports:
    """What one module loads: `static` before it runs, `lazy` when it first asks."""

    static: tuple[str, ...]
    lazy: tuple[str, ...]


def _spans(pattern: re.Pattern[str], text: str, *, skip_comments: bool) -> Iterable[re.Match[str]]:
    for match in pattern.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if skip_comments and COMMENT_LINE.match(text, line_start):
            continue
        yield match


def _matches(text: str) -> tuple[list[re.Match[str]], list[re.Match[str]]]:
    static = [*_spans(STATIC_IMPORT, text, skip_comments=False), *_spans(BARE_IMPORT, text, skip_comments=False)]
    lazy = [*_spans(DYNAMIC_IMPORT, text, skip_comments=True), *_spans(MODULE_URL, text, skip_comments=True)]
    return static, lazy


def resolve(importer: str, specifier: str) -> str:
    """`specifier` as a path of the static directory, from the module at path `importer`."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))


def scan(path: str, text: str, known: Mapping[str, object]) -> ModuleImports:
    """The files of `known` that the module at `path` imports (anything else is left to the browser)."""
    static, lazy = _matches(text)

    def paths(matches: list[re.Match[str]]) -> tuple[str, ...]:
        found = (resolve(path, match["specifier"]) for match in sorted(matches, key=lambda match: match.start()))
        return tuple(dict.fromkeys(target for target in found if target in known))

    return ModuleImports(static=paths(static), lazy=paths(lazy))


def versioned_text(path: str, text: str, version_of: Callable[[str], str | None]) -> str:
    """`text` with each import of a known file given `?v=<its version>`; nothing else changes."""
    static, lazy = _matches(text)
    pieces: list[str] = []
    end = 0
    for match in sorted([*static, *lazy], key=lambda match: match.start("specifier")):
        version = version_of(resolve(path, match["specifier"]))
        if version is None or match.start("specifier") < end:
            continue
        pieces.append(text[end : match.end("specifier")])
        pieces.append(f"?v={version}")
        end = match.end("specifier")
    pieces.append(text[end:])
    return "".join(pieces)


def reachable(start: str, graph: Mapping[str, ModuleImports], *, lazy: bool) -> list[str]:
    """Every module `start` loads, itself first, then in the order they are found (cycles are fine);
    with `lazy`, also what they load on first use."""
    seen = {start: None}
    pending = [start]
    while pending:
        imports = graph.get(pending.pop(0))
        if imports is None:
            continue
        for target in (*imports.static, *imports.lazy) if lazy else imports.static:
            if target not in seen:
                seen[target] = None
                pending.append(target)
    return list(seen)
