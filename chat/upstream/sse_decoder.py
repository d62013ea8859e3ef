"""Decoding the upstream's Server-Sent Events: its raw bytes in, the `data` of each event out."""

from __future__ import annotations

BOM = b"\xef\xbb\xbf"


class SseDecoder:
    """Incremental parser of an event stream, after the WHATWG spec: yields the `data` of each
    complete event as bytes.

    Bytes are kept until a blank line ends the event, so a frame split across network reads (or a
    UTF-8 character split across them) is reassembled before anyone decodes it. A line cut across
    many reads is joined once, when it ends, so a large event costs linear time however it arrives.
    Event names, ids and retry fields are not needed from model streams and are skipped.
    """

    __slots__ = ("_after_cr", "_data", "_head", "_partial")

    def __init__(self) -> None:
        self._head: bytes | None = b""  # the first bytes, until a leading BOM is ruled out or removed
        self._after_cr = False  # the last read ended in CR: an LF first in the next one ends no line
        self._partial: list[bytes] = []  # the start of a line whose end has not arrived
        self._data: list[bytes] | None = None  # the data lines of the event being read

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._head is not None:
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
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
        rest = lines.pop()  # after the last line end: the start of a line to come
        self._partial = [rest] if rest else []
        events: list[bytes] = []
        for line in lines:
            if not line:  # a blank line ends the event
                if self._data is not None:
                    events.append(b"\n".join(self._data))
                    self._data = None
            elif line.startswith(b"data"):
                field, _, value = line.partition(b":")  # `data` without a colon is an empty data line
                if field == b"data":
                    if self._data is None:
                        self._data = []
                    self._data.append(value[1:] if value[:1] == b" " else value)
        return events
