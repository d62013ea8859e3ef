import { test } from "node:test";
import assert from "node:assert/strict";

import { SseParser, parseSse } from "../../web/static/server/sse.js";

const encoder = new TextEncoder();

// What the chat server sends: named events (a reasoning model's summary before its answer),
// JSON data, a keep-alive comment, and characters of one, two, three and four UTF-8 bytes.
const SAMPLE = [
  ": ping\n\n",
  'event: reasoning\ndata: {"content": "**Plan:** greet 🤔\\n\\n"}\n\n',
  ": ping\n\n",
  'event: delta\ndata: {"content": "Hello"}\n\n',
  'event: delta\ndata: {"content": " wörld — ✓ 👋🏽"}\n\n',
  ": ping\n\n",
  'event: done\ndata: {"finish_reason": "stop", "usage": null}\n\n',
].join("");

const SAMPLE_EVENTS = [
  { event: "reasoning", data: '{"content": "**Plan:** greet 🤔\\n\\n"}', id: "" },
  { event: "delta", data: '{"content": "Hello"}', id: "" },
  { event: "delta", data: '{"content": " wörld — ✓ 👋🏽"}', id: "" },
  { event: "done", data: '{"finish_reason": "stop", "usage": null}', id: "" },
];

function splitAt(bytes, points) {
  const chunks = [];
  let last = 0;
  for (const point of points) {
    chunks.push(bytes.slice(last, point));
    last = point;
  }
  chunks.push(bytes.slice(last));
  return chunks;
}

test("whole body in one chunk", () => {
  assert.deepEqual(parseSse([encoder.encode(SAMPLE)]), SAMPLE_EVENTS);
});

test("every single split point of the byte stream", () => {
  const bytes = encoder.encode(SAMPLE);
  for (let point = 0; point <= bytes.length; point++) {
    assert.deepEqual(parseSse(splitAt(bytes, [point])), SAMPLE_EVENTS, `split at byte ${point}`);
  }
});

test("every pair of split points", () => {
  const bytes = encoder.encode(SAMPLE);
  for (let a = 0; a <= bytes.length; a += 3) {
    for (let b = a; b <= bytes.length; b += 5) {
      assert.deepEqual(parseSse(splitAt(bytes, [a, b])), SAMPLE_EVENTS, `split at ${a} and ${b}`);
    }
  }
});

test("byte by byte", () => {
  const bytes = encoder.encode(SAMPLE);
  const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte));
  assert.deepEqual(parseSse(chunks), SAMPLE_EVENTS);
});

test("events are returned by the push that completes them", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push(encoder.encode("event: delta\ndata: {\"content\"")), []);
  assert.deepEqual(parser.push(encoder.encode(": \"a\"}\n")), []);
  assert.deepEqual(parser.push(encoder.encode("\n")), [
    { event: "delta", data: '{"content": "a"}', id: "" },
  ]);
});

test("a four-byte emoji split inside its bytes stays intact", () => {
  const bytes = encoder.encode("data: 👋\n\n");
  const emojiStart = encoder.encode("data: ").length;
  for (let cut = emojiStart + 1; cut < emojiStart + 4; cut++) {
    assert.deepEqual(parseSse(splitAt(bytes, [cut])), [{ event: "message", data: "👋", id: "" }]);
  }
  // Split into all four bytes separately.
  const points = [emojiStart + 1, emojiStart + 2, emojiStart + 3];
  assert.deepEqual(parseSse(splitAt(bytes, points)), [{ event: "message", data: "👋", id: "" }]);
});

for (const [name, eol] of [
  ["LF", "\n"],
  ["CRLF", "\r\n"],
  ["CR", "\r"],
]) {
  test(`${name} line endings, at every split point`, () => {
    const body = SAMPLE.replaceAll("\n", eol);
    const bytes = encoder.encode(body);
    for (let point = 0; point <= bytes.length; point++) {
      assert.deepEqual(parseSse(splitAt(bytes, [point])), SAMPLE_EVENTS, `split at byte ${point}`);
    }
  });
}

test("mixed line endings in one stream", () => {
  const body = "event: a\r\ndata: 1\r\r\nevent: b\rdata: 2\n\r";
  assert.deepEqual(parseSse([body]), [
    { event: "a", data: "1", id: "" },
    { event: "b", data: "2", id: "" },
  ]);
});

test("CR at the end of a chunk followed by LF is one line ending, not two", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push("data: x\r"), []);
  // If the LF were taken as a second (blank) line the event would dispatch here.
  assert.deepEqual(parser.push("\ndata: y\r\n"), []);
  assert.deepEqual(parser.push("\r\n"), [{ event: "message", data: "x\ny", id: "" }]);
});

test("comment lines are ignored, also inside a frame", () => {
  const body = ": ping\n\n:\n\nevent: delta\n: a comment\ndata: x\n\n";
  assert.deepEqual(parseSse([body]), [{ event: "delta", data: "x", id: "" }]);
});

test("multiple data lines are joined with LF", () => {
  const body = "data: first\ndata: second\ndata:\ndata: fourth\n\n";
  assert.deepEqual(parseSse([body]), [
    { event: "message", data: "first\nsecond\n\nfourth", id: "" },
  ]);
});

test("only one leading space after the colon is stripped", () => {
  const body = "data:no space\n\ndata:  two spaces\n\ndata: \n\n";
  assert.deepEqual(parseSse([body]), [
    { event: "message", data: "no space", id: "" },
    { event: "message", data: " two spaces", id: "" },
    { event: "message", data: "", id: "" },
  ]);
});

test("default event name is message, and the name resets after each frame", () => {
  const body = "event: delta\ndata: 1\n\ndata: 2\n\n";
  assert.deepEqual(parseSse([body]), [
    { event: "delta", data: "1", id: "" },
    { event: "message", data: "2", id: "" },
  ]);
});

test("unknown events and unknown fields pass through untouched", () => {
  const body = "event: future_thing\nfoo: bar\ndata: {}\n\nevent: delta\nnocolon\ndata: y\n\n";
  assert.deepEqual(parseSse([body]), [
    { event: "future_thing", data: "{}", id: "" },
    { event: "delta", data: "y", id: "" },
  ]);
});

test("a frame without data dispatches nothing", () => {
  assert.deepEqual(parseSse(["event: delta\n\n", "id: 3\n\n"]), []);
});

test("id is remembered and retry is read", () => {
  const parser = new SseParser();
  const events = parser.push("id: 7\nretry: 1500\ndata: a\n\ndata: b\n\n");
  assert.deepEqual(events, [
    { event: "message", data: "a", id: "7" },
    { event: "message", data: "b", id: "7" },
  ]);
  assert.equal(parser.retry, 1500);
});

test("an incomplete trailing frame is dropped at end of stream", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push("event: delta\ndata: complete\n\nevent: delta\ndata: cut"), [
    { event: "delta", data: "complete", id: "" },
  ]);
  assert.deepEqual(parser.end(), []);
  // Even a trailing line ending without the blank line is not enough.
  assert.deepEqual(parseSse(["data: x\n"]), []);
});

test("a leading byte order mark is ignored", () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("data: x\n\n")]);
  assert.deepEqual(parseSse([bytes.slice(0, 2), bytes.slice(2)]), [
    { event: "message", data: "x", id: "" },
  ]);
});

test("data is not interpreted: JSON with colons and spaces survives", () => {
  const body = 'event: delta\ndata: {"content": "a: b\\n\\nc"}\n\n';
  const [event] = parseSse([body]);
  assert.deepEqual(JSON.parse(event.data), { content: "a: b\n\nc" });
});
