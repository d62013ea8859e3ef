// splitCompletedBlocks and plainTextReason are pure; renderMarkdown needs a DOM and is covered by browser tests.
import { test } from "node:test";
import assert from "node:assert/strict";

import { plainTextReason, splitCompletedBlocks } from "../../web/static/markup/markdown.js";

const completed = (text) => text.slice(0, splitCompletedBlocks(text));

test("no blank line: everything is still open", () => {
  assert.equal(splitCompletedBlocks(""), 0);
  assert.equal(splitCompletedBlocks("Hello"), 0);
  assert.equal(splitCompletedBlocks("Hello\nworld\n"), 0);
});

test("a paragraph is finished once the next block has started", () => {
  assert.equal(completed("First.\n\n"), ""); // the next block may still be an indented continuation
  assert.equal(completed("First.\n\nSec"), "First.\n\n");
  assert.equal(completed("One.\n\nTwo.\n\nThr"), "One.\n\nTwo.\n\n");
});

test("several blank lines are all part of the finished prefix", () => {
  assert.equal(completed("One.\n\n\n\nTwo"), "One.\n\n\n\n");
});

test("blank lines inside a code fence do not split", () => {
  const text = "Intro\n\n```python\ndef f():\n\n    return 1\n\nx";
  assert.equal(completed(text), "Intro\n\n");
  const closed = "Intro\n\n```python\ndef f():\n\n    return 1\n```\n\nAfter";
  assert.equal(completed(closed), "Intro\n\n```python\ndef f():\n\n    return 1\n```\n\n");
});

test("tilde fences and longer fences close only with a matching marker", () => {
  assert.equal(completed("~~~\na\n\n```\n\nb"), "");
  assert.equal(completed("~~~\na\n\n~~~\n\nb"), "~~~\na\n\n~~~\n\n");
  assert.equal(completed("````\n```\n\nstill code\n\nx"), "");
  assert.equal(completed("````\n```\n\n````\n\nx"), "````\n```\n\n````\n\n");
});

test("an indented line after a blank line may continue a list item: not split there", () => {
  assert.equal(completed("- item\n\n  more of the item\n"), "");
  assert.equal(completed("- item\n\n  more\n\nNext"), "- item\n\n  more\n\n");
});

test("inline backticks in a line do not open a fence", () => {
  assert.equal(completed("``` not a fence ` here\n\nNext"), "``` not a fence ` here\n\n");
});

test("the split only moves forward as text streams in", () => {
  const text = "# Title\n\nSome text.\n\n```js\nlet a;\n\nlet b;\n```\n\n| a |\n|---|\n| 1 |\n\nEnd.";
  let last = 0;
  for (let end = 0; end <= text.length; end++) {
    const split = splitCompletedBlocks(text.slice(0, end));
    assert.ok(split >= last, `split went back at ${end}`);
    assert.ok(split <= end);
    last = split;
  }
  assert.equal(text.slice(0, last), text.slice(0, text.lastIndexOf("End.")));
});

test("text too long or too deep for the parser is flagged, in linear time", () => {
  assert.equal(plainTextReason("Hello **world**.\n\n- a\n  - b\n"), "");
  assert.match(plainTextReason("a".repeat(200_000)), /a word of 200,000 characters/);
  assert.match(plainTextReason(`Before ${"a_".repeat(1500)} after`), /a word of 3,000 characters/);
  const nested = Array.from({ length: 500 }, (_, depth) => `${"  ".repeat(depth)}- level\n`).join("");
  assert.match(plainTextReason(nested), /nested \d+ levels deep/);
  assert.match(plainTextReason(`${"- ".repeat(300)}deep`), /nested 300 levels deep/);
  assert.match(plainTextReason(`${"> ".repeat(300)}deep`), /nested 300 levels deep/);
  // Ordinary nesting, and indentation inside a code fence, are fine.
  assert.equal(plainTextReason(Array.from({ length: 20 }, (_, depth) => `${"  ".repeat(depth)}- level\n`).join("")), "");
  assert.equal(plainTextReason(`\`\`\`\n${" ".repeat(400)}x = 1\n\`\`\`\n`), "");
  const started = performance.now();
  plainTextReason(`${"word ".repeat(100_000)}\n`.repeat(4));
  assert.ok(performance.now() - started < 1000);
});
