"""Log lines a machine can parse and nobody can bend: every value quoted, escaped and capped, and a
refusal repeated by one client written once per interval with a count."""

from __future__ import annotations

import logging
import time
import unicodedata

CAP = 200  # characters of one value
INTERVAL = 60.0  # seconds over which one client's repeated refusals make one line
MAX_SUMMARIES = 10_000  # clients whose refusals are being counted at once

# Characters that would let a value pose as something else: line breaks and other controls (the
# Unicode line and paragraph separators among them), format characters (zero-width ones, the soft
# hyphen, the bidirectional marks that reorder text on screen) and lone surrogates.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quoted(value: object, cap: int = CAP) -> str:
    """`"value"` with quotes, backslashes, controls, line separators and format characters (bidi
    marks, zero-width characters) escaped, cut at `cap` characters."""
    text = str(value)
    cut = len(text) > cap
    pieces = []
    for char in text[:cap]:
        code = ord(char)
        if char in _ESCAPES:
            pieces.append(_ESCAPES[char])
        elif code < 0x20 or 0x7F <= code < 0xA0 or (code > 0xA0 and unicodedata.category(char) in _HIDDEN):
            pieces.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            pieces.append(char)
    return '"' + "".join(pieces) + ('..."' if cut else '"')


def line(event: str, **values: object) -> str:
    """`event key="value" n=3 ok=true`: numbers and truth values bare, everything else quoted."""
    parts = [event]
    for key, value in values.items():
        if isinstance(value, bool):
            parts.append(f"{key}={str(value).lower()}")
        elif isinstance(value, (int, float)):
            parts.append(f"{key}={value}")
        else:
            parts.append(f"{key}={quoted(value)}")
    return " ".join(parts)


class RefusalLog:
    """Writes the first refusal of a kind for a client, then one line per interval with how many
    more there were, so a flood of refusals costs a few lines, not one each."""

    def __init__(self, logger: logging.Logger, interval: float = INTERVAL) -> None:
        self._log = logger
        self._interval = interval
        self._counting: dict[tuple[str, str], tuple[float, int]] = {}  # (client, code) -> (since, more)
        self._next_flush = 0.0

    def refused(self, code: str, client: str, **details: object) -> None:
        now = time.monotonic()
        self._flush(now)
        key = (client, code)
        if key in self._counting:
            since, more = self._counting[key]
            self._counting[key] = (since, more + 1)
            return
        if len(self._counting) < MAX_SUMMARIES:
            self._counting[key] = (now, 0)
        self._log.warning(line("chat refused", code=code, client=client, **details))

    def _flush(self, now: float) -> None:
        if now < self._next_flush:
            return
        self._next_flush = now + 1.0
        for key, (since, more) in list(self._counting.items()):
            if now - since >= self._interval:
                del self._counting[key]
                if more:
                    client, code = key
                    self._log.warning(
                        line("chat refused", code=code, client=client, repeated=more, seconds=round(now - since))
                    )
