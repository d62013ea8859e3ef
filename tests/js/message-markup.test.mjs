// The text of a message's status line; building the elements needs a DOM and is covered by browser tests.
import { test } from "node:test";
import assert from "node:assert/strict";

import { elapsedText, usageText } from "../../web/static/messages/message-markup.js";

const number = (value) => new Intl.NumberFormat().format(value);

test("usage: total tokens, with the reasoning tokens among them when there are any", () => {
  const usage = { promptTokens: 34, completionTokens: 1200, totalTokens: 1234 };
  assert.equal(usageText(usage), `${number(1234)} tokens`);
  assert.equal(usageText({ ...usage, reasoningTokens: 0 }), `${number(1234)} tokens`);
  assert.equal(usageText({ ...usage, reasoningTokens: 512 }), `${number(1234)} tokens (512 reasoning)`);
  assert.equal(usageText({ ...usage, reasoningTokens: 1024 }), `${number(1234)} tokens (${number(1024)} reasoning)`);
});

test("elapsed thinking time: whole seconds, nothing in the first one", () => {
  assert.equal(elapsedText(1000, 1000), "");
  assert.equal(elapsedText(1000, 1999), "");
  assert.equal(elapsedText(1000, 2000), "1 s");
  assert.equal(elapsedText(1000, 13_900), "12 s");
  assert.equal(elapsedText(0, 3_600_000), `${number(3600)} s`);
});
