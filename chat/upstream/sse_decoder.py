"""Decoding the upstream's Server-Sent Events: its raw bytes in, the `data` of each event out."""

from __future__ import annotations

BOM = b"\xef\xbb\xbf"
# The most a line, or the data lines of one event, may hold. Legitimate events stay far below it,
# though the Responses API's closing events repeat the whole answer: 128,000 tokens of text sent as
# `\uXXXX` escapes would pass 1 MiB. Beyond it the stream is broken or hostile (one line of 300 MB
# without an end once grew the relay by 1.2 GB), and the answer fails instead.
MAX_EVENT_BYTES = 4 << 20
# What each piece kept costs beyond its bytes (a bytes object and its place in a list, rounded up),
# so that many tiny lines or reads count for the memory they take rather than for their bytes.
PIECE_COST = 64
_REFUSING = b"refusing"  # in place of `_head` once over the limit: the one check every read makes anyway


class SseDecoder:
    """Incremental parser of an event stream, after the WHATWG spec: yields the `data` of each
    complete event as bytes.

    Bytes are kept until a blank line ends the event, so a frame split across network reads (or a
    UTF-8 character split across them) is reassembled before anyone decodes it. A line cut across
    many reads is joined once, when it ends, so a large event costs linear time however it arrives.
    What is kept is capped: once the unfinished line and the event's data lines (as sent, and
    PIECE_COST for each piece) hold more than MAX_EVENT_BYTES, the decoder drops them, sets
    `too_large` and decodes nothing more. It counts once per read and once per data line, so it
    never holds more than the cap and one read.
    Event names, ids and retry fields are not needed from model streams and are skipped.
    """

    __slots__ = ("_after_cr", "_data", "_data_bytes", "_head", "_partial", "_partial_bytes", "too_large")

    def __init__(self) -> None:
        self._head: bytes | None = b""  # the first bytes, until a leading BOM is ruled out or removed
        self._after_cr = False  # the last read ended in CR: an LF first in the next one ends no line
        self._partial: list[bytes] = []  # the start of a line whose end has not arrived
        self._partial_bytes = 0  # its pieces' bytes, and PIECE_COST each
        self._data: list[bytes] | None = None  # the data lines of the event being read
        self._data_bytes = 0  # their lines as sent (`data:` included), and PIECE_COST each
        self.too_large = False  # a line or event over MAX_EVENT_BYTES came: the stream is to fail

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._head is not None:
            if self._head is _REFUSING:
                return []
            chunk = self._head + chunk
            if len(chunk) < len(BOM) and BOM.startswith(chunk):
                self._head = chunk  # maybe a BOM cut across reads
                return []
            self._head = None
            chunk = chunk.removeprefix(BOM)
        if not chunk:
            return []  # an empty read changes nothing, not even a pending CR
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF cut between two reads
        self._after_cr = chunk.endswith(b"\r")
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()  # after the last line end: the start of a line to come
        if not lines:  # no line ends in this read: keep its piece, join them when the line ends
            self._partial.append(rest)
            self._partial_bytes += len(rest) + PIECE_COST
            if self._partial_bytes + self._data_bytes > MAX_EVENT_BYTES:
                self._refuse()
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
        self._partial = [rest] if rest else []
        events: list[bytes] = []
        data, held = self._data, self._data_bytes  # locals in the loop: it runs for every line
        for line in lines:
            if not line:  # a blank line ends the event
                if data is not None:
                    if held > MAX_EVENT_BYTES:
                        self._refuse()
                        return events
                    events.append(b"\n".join(data))
                    data, held = None, 0
            elif line.startswith(b"data"):
                field, _, value = line.partition(b":")  # `data` without a colon is an empty data line
                if field == b"data":
                    if data is None:
                        data = []
                    data.append(value[1:] if value[:1] == b" " else value)
                    held += len(line) + PIECE_COST
        self._data, self._data_bytes, self._partial_bytes = data, held, len(rest) + PIECE_COST
        if held + len(rest) + PIECE_COST > MAX_EVENT_BYTES:
            self._refuse()
        return events

    def buffered(self) -> int:
        """The bytes held for the line and the event still to end."""
        return sum(map(len, self._partial)) + sum(map(len, self._data or ()))

    def _refuse(self) -> None:
        self.too_large = True
        self._head = _REFUSING
        self._partial, self._partial_bytes, self._data, self._data_bytes = [], 0, None, 0
