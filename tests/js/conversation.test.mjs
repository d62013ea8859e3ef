import { test } from "node:test";
import assert from "node:assert/strict";

import {
  countChars,
  isRefused,
  isWithheld,
  titleFor,
  toRequestMessages,
  trimToLimits,
  UNTITLED,
  withhold,
} from "../../web/static/data/conversation.js";

const user = (content) => ({ role: "user", content });
const assistant = (content, extra = {}) => ({ role: "assistant", content, ...extra });

test("countChars counts code points like the server", () => {
  assert.equal(countChars(""), 0);
  assert.equal(countChars("abc"), 3);
  assert.equal(countChars("👋"), 1);
  assert.equal(countChars("é👋🏽x"), 4); // e-acute, wave, skin tone modifier, x
  assert.equal(countChars("\ud83d"), 1); // a lone surrogate still counts once
});

test("title is the first user message on one line, shortened", () => {
  assert.equal(titleFor([]), UNTITLED);
  assert.equal(titleFor([user("  Hello\n\nthere  ")]), "Hello there");
  const long = titleFor([user("x".repeat(200))]);
  assert.equal(Array.from(long).length, 60);
  assert.ok(long.endsWith("…"));
  assert.equal(titleFor([assistant("hi"), user("question")]), "question");
});

test("request messages keep role and text only and skip empty answers", () => {
  const messages = [
    user("q1"),
    assistant("partial", { status: "stopped", usage: null }),
    user("q2"),
    assistant("", { status: "error", error: { code: "x", message: "y" } }),
    user("q3"),
  ];
  assert.deepEqual(toRequestMessages(messages), [
    { role: "user", content: "q1" },
    { role: "assistant", content: "partial" },
    { role: "user", content: "q2" },
    { role: "user", content: "q3" },
  ]);
});

test("reasoning is never sent back, only the answer's text", () => {
  const messages = [
    user("q1"),
    assistant("The train.", { status: "done", reasoning: "**Comparing** train and plane…" }),
    user("q2"),
    assistant("", { status: "stopped", reasoning: "Stopped while thinking" }),
    user("q3"),
  ];
  assert.deepEqual(toRequestMessages(messages), [
    { role: "user", content: "q1" },
    { role: "assistant", content: "The train." },
    { role: "user", content: "q2" },
    { role: "user", content: "q3" },
  ]);
});

test("an answer flagged by the content filter is not sent back, even with its text", () => {
  const flagged = { status: "done", finishReason: "content_filter", usage: null };
  const messages = [
    user("q1"),
    assistant("flagged text kept by an older page", flagged),
    user("q2"),
    assistant("cut off", { status: "done", finishReason: "length" }),
    user("q3"),
  ];
  assert.deepEqual(toRequestMessages(messages), [
    { role: "user", content: "q1" },
    { role: "user", content: "q2" },
    { role: "assistant", content: "cut off" },
    { role: "user", content: "q3" },
  ]);
});

test("a question the content filter refused is not sent again, nor its turn", () => {
  const refused = { status: "refused", error: { code: "content_filter", message: "Blocked." } };
  const messages = [user("q1"), assistant("a1", { status: "done" }), user("blocked"), assistant("", refused), user("q3")];
  assert.equal(isRefused(messages[3]), true);
  assert.equal(isRefused(messages[1]), false);
  assert.deepEqual(toRequestMessages(messages), [
    { role: "user", content: "q1" },
    { role: "assistant", content: "a1" },
    { role: "user", content: "q3" },
  ]);
});

test("a flagged answer is withheld: text and reasoning gone, the rest kept", () => {
  const message = assistant("flagged", { status: "done", finishReason: "content_filter", reasoning: "why", usage: { totalTokens: 9 } });
  assert.equal(isWithheld(message), true);
  withhold(message);
  assert.deepEqual(message, { role: "assistant", content: "", status: "done", finishReason: "content_filter", usage: { totalTokens: 9 } });
  assert.equal(isWithheld(assistant("fine", { finishReason: "stop" })), false);
  assert.equal(isWithheld(user("content_filter")), false);
});

test("trimming counts what is sent: a flagged answer's text takes no room", () => {
  const messages = toRequestMessages([
    user("aaaa"),
    assistant("x".repeat(100), { finishReason: "content_filter" }),
    user("bbbb"),
  ]);
  assert.deepEqual(trimToLimits(messages, { maxMessages: 0, maxTotalChars: 8 }), { messages, dropped: 0 });
});

test("nothing is trimmed when the conversation fits", () => {
  const messages = [user("a"), assistant("b"), user("c")];
  assert.deepEqual(trimToLimits(messages, { maxMessages: 3, maxTotalChars: 3 }), { messages, dropped: 0 });
  assert.deepEqual(trimToLimits(messages, { maxMessages: 0, maxTotalChars: 0 }), { messages, dropped: 0 });
});

test("too many messages: the oldest go, and the result starts with a user message", () => {
  const messages = [user("1"), assistant("2"), user("3"), assistant("4"), user("5")];
  const { messages: kept, dropped } = trimToLimits(messages, { maxMessages: 4, maxTotalChars: 0 });
  // Dropping one would leave an answer first, so its answer goes too.
  assert.deepEqual(kept.map((m) => m.content), ["3", "4", "5"]);
  assert.equal(dropped, 2);
});

test("too many characters: the oldest go until the total fits", () => {
  const messages = [user("aaaa"), assistant("bbbb"), user("cc"), assistant("dd"), user("ee")];
  const { messages: kept, dropped } = trimToLimits(messages, { maxMessages: 0, maxTotalChars: 7 });
  assert.deepEqual(kept.map((m) => m.content), ["cc", "dd", "ee"]);
  assert.equal(dropped, 2);
});

test("the newest message is always kept", () => {
  const messages = [user("old"), assistant("answer"), user("x".repeat(50))];
  const { messages: kept, dropped } = trimToLimits(messages, { maxMessages: 1, maxTotalChars: 10 });
  assert.deepEqual(kept, [messages[2]]);
  assert.equal(dropped, 2);
});

test("leading system messages are kept while older turns are dropped", () => {
  const messages = [{ role: "system", content: "be brief" }, user("1"), assistant("2"), user("3")];
  const { messages: kept, dropped } = trimToLimits(messages, { maxMessages: 2, maxTotalChars: 0 });
  assert.deepEqual(kept.map((m) => m.content), ["be brief", "3"]);
  assert.equal(dropped, 2);
});

test("emoji count as one character when trimming", () => {
  const messages = [user("👋👋"), assistant("ok"), user("👋")];
  const { dropped } = trimToLimits(messages, { maxMessages: 0, maxTotalChars: 5 });
  assert.equal(dropped, 0);
});
