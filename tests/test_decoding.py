"""The lean upstream path: SSE frames and chat chunks decoded exactly, however the bytes are cut."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable

import pytest

from chat.relay.sse import frame
from chat.upstream.chat_completions import CompletionReader
from chat.upstream.events import TextDelta
from chat.upstream.responses import ResponsesReader
from chat.upstream.sse_decoder import MAX_EVENT_BYTES, SseDecoder
from chat.upstream.stream import Reader

TEXT = 'Grüße 👩‍💻 — «ok»\n"quoted" data: x\n\n'


def _azure_stream(text: str) -> bytes:
    chunks = [
        {"choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        *({"choices": [{"index": 0, "delta": {"content": char}, "finish_reason": None}]} for char in text),
        {"choices": [{"index": 0, "finish_reason": None, "content_filter_results": {}}]},  # no delta
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(text), "total_tokens": 9}},
    ]
    body = b"".join(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n" for chunk in chunks)
    return body + b"data: [DONE]\n\n"


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_every_split_point_gives_the_same_text(line_end: bytes) -> None:
    body = _azure_stream(TEXT).replace(b"\n", line_end)
    for cut in range(1, len(body)):
        reader = CompletionReader()
        text = reader.feed_text(body[:cut]) + reader.feed_text(body[cut:])
        assert text == TEXT, f"cut at byte {cut}"
        assert reader.done
        assert reader.finish_reason == "stop"
        assert reader.usage == {"prompt_tokens": 3, "completion_tokens": len(TEXT), "total_tokens": 9}


def test_byte_by_byte() -> None:
    reader = CompletionReader()
    text = "".join(reader.feed_text(bytes([byte])) for byte in _azure_stream(TEXT))
    assert text == TEXT
    assert reader.done


# Cases after the web-platform-tests and eventsource-parser suites: (stream, the data of each event).
SPEC_CASES = {
    "bom-removed": (b"\xef\xbb\xbfdata: a\n\n", [b"a"]),
    "only-one-bom-removed": (b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [b"b"]),
    "data-without-colon": (b"data\n\ndata\ndata\n\ndata:\n\n", [b"", b"\n", b""]),
    "mixed-line-ends": (b"data: a\r\ndata: b\rdata: c\n\r\n", [b"a\nb\nc"]),
    "cr-lf-as-one-line-end": (b"data: a\r\ndata: b\r\n\r\n", [b"a\nb"]),
    "fields-and-comments": (b": c\nevent: x\nid: 1\nretry: 5\ndata:  two\ndatax: no\n\n", [b" two"]),
    "colon-in-value": (b"data: a:b\n\n", [b"a:b"]),
    "unfinished-event-dropped": (b"data: a\n\ndata: b\n", [b"a"]),
    "blank-lines-alone": (b"\n\n\r\n\r\r", []),
}


@pytest.mark.parametrize(("stream", "expected"), SPEC_CASES.values(), ids=SPEC_CASES.keys())
def test_spec_cases_at_every_pair_of_split_points_with_empty_reads(stream: bytes, expected: list[bytes]) -> None:
    for first in range(len(stream) + 1):
        for second in range(first, len(stream) + 1):
            decoder = SseDecoder()
            pieces = [stream[:first], b"", stream[first:second], b"", stream[second:]]
            assert [data for piece in pieces for data in decoder.feed(piece)] == expected, (first, second)


def test_a_large_event_in_small_reads_is_joined_once() -> None:
    data = b"x" * (1 << 20)
    stream = b"data: " + data + b"\n\n"
    decoder = SseDecoder()
    events = [event for start in range(0, len(stream), 1460) for event in decoder.feed(stream[start : start + 1460])]
    assert events == [data]


def test_an_event_without_data_is_skipped_by_the_readers() -> None:
    reader = CompletionReader()
    assert reader.feed_text(b'data\n\ndata: {"choices": [{"delta": {"content": "ok"}}]}\n\n') == "ok"
    assert reader.failure is None


def test_decoder_skips_comments_and_joins_data_lines() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b": ping\n\nevent: x\ndata: a\ndata:b\nid: 3\n\ndata: c\n") == [b"a\nb"]
    assert decoder.feed(b"\n") == [b"c"]


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b"[1, 2]",
        b'{"choices": [{"delta": {"content": 5}}]}',
        b'{"choices": 3}',
        b'{"choices": [{"delta": "text"}]}',
    ],
    ids=["bad-json", "not-object", "content-not-text", "choices-not-list", "delta-not-object"],
)
def test_unexpected_chunk_shape_is_an_upstream_error(data: bytes) -> None:
    reader = CompletionReader()
    assert reader.feed_text(b"data: " + data + b"\n\n") == ""
    assert reader.failure is not None
    assert reader.failure.code == "upstream_error"


def test_text_before_an_error_in_the_same_read_is_kept() -> None:
    reader = CompletionReader()
    text = reader.feed_text(
        b'data: {"choices": [{"delta": {"content": "kept"}}]}\n\n'
        b'data: {"error": {"code": "content_filter", "message": "no"}}\n\n'
        b'data: {"choices": [{"delta": {"content": "dropped"}}]}\n\n'
    )
    assert text == "kept"
    assert reader.failure is not None
    assert reader.failure.code == "content_filter"


def test_frame_is_one_event_line_and_one_data_line() -> None:
    assert frame("delta", {"content": "a\nb\r\nc"}) == b'event: delta\ndata: {"content":"a\\nb\\r\\nc"}\n\n'


READ = 65_536  # a large network read


def _lines_without_end() -> bytes:
    return b"data: " + b"x" * (3 * MAX_EVENT_BYTES)


def _data_lines_without_blank_line() -> bytes:
    line = b"data: " + b"x" * 1000 + b"\n"
    return line * (3 * MAX_EVENT_BYTES // len(line))


def _comment_without_end() -> bytes:
    return b": " + b"x" * (3 * MAX_EVENT_BYTES)


@pytest.mark.parametrize(
    "stream",
    [_lines_without_end, _data_lines_without_blank_line, _comment_without_end],
    ids=["line", "event", "comment"],
)
@pytest.mark.parametrize("read", [READ, 1 << 20, 4096], ids=["64k-reads", "1m-reads", "small-reads"])
def test_what_the_decoder_holds_is_capped(stream: Callable[[], bytes], read: int) -> None:
    """The attack: one line (or event) that never ends. What the decoder holds never passes the cap
    and one read; past the cap it holds nothing and decodes nothing more."""
    body = stream()
    decoder = SseDecoder()
    for start in range(0, len(body), read):
        assert decoder.feed(body[start : start + read]) == []
        assert decoder.buffered() <= MAX_EVENT_BYTES + read, start
        if decoder.too_large:
            break
    assert decoder.too_large and start < MAX_EVENT_BYTES + read
    assert decoder.buffered() == 0
    assert decoder.feed(b"\n\ndata: late\n\n") == []


def test_an_event_near_the_cap_is_decoded_and_one_over_it_is_not() -> None:
    near = b"x" * (MAX_EVENT_BYTES - READ)
    for data, decoded in ((near, [near]), (near + b"x" * READ, [])):
        stream = b"data: " + data + b"\n\ndata: next\n\n"
        decoder = SseDecoder()
        events = [
            event for start in range(0, len(stream), READ) for event in decoder.feed(stream[start : start + READ])
        ]
        assert events == ([*decoded, b"next"] if decoded else [])
        assert decoder.too_large is not bool(decoded)
    whole = SseDecoder()  # one over it, arriving in one read with an event before it
    assert whole.feed(b"data: a\n\ndata: " + near + b"x" * READ + b"\n\ndata: next\n\n") == [b"a"]
    assert whole.too_large


@pytest.mark.parametrize(
    ("line", "read"),
    [(b"data:xy\n", READ), (b"data\n", READ), (b"x", 1)],
    ids=["tiny-data-lines", "empty-data-lines", "a-line-in-one-byte-reads"],
)
def test_many_small_pieces_count_for_their_memory(line: bytes, read: int) -> None:
    """Tiny lines (or reads) cost a bytes object each: the cap holds for memory, not only for bytes."""
    body = line * (2 * MAX_EVENT_BYTES // len(line) if read > 1 else MAX_EVENT_BYTES // 4)
    decoder = SseDecoder()
    tracemalloc.start()
    try:
        for start in range(0, len(body), read):
            decoder.feed(body[start : start + read])
            if decoder.too_large:
                break
            if start % 4096 == 0:
                assert tracemalloc.get_traced_memory()[0] <= MAX_EVENT_BYTES + READ, start
    finally:
        tracemalloc.stop()
    assert decoder.too_large


@pytest.mark.parametrize("reader", [CompletionReader, ResponsesReader])
def test_an_event_over_the_cap_fails_the_answer_and_keeps_the_text_before(reader: type[Reader]) -> None:
    first = (
        {"choices": [{"index": 0, "delta": {"content": "kept"}}]}
        if reader is CompletionReader
        else {"type": "response.output_text.delta", "delta": "kept"}
    )
    decoding = reader()
    events = decoding.feed(b"data: " + json.dumps(first).encode() + b"\n\ndata: ")
    fed = 0
    while decoding.failure is None:
        assert fed <= MAX_EVENT_BYTES
        events += decoding.feed(b"x" * READ)
        fed += READ
    assert [event.content for event in events if isinstance(event, TextDelta)] == ["kept"]
    assert decoding.failure is not None and decoding.failure.code == "upstream_error"
    assert "larger than 4 MiB" in decoding.failure.message
