// Where formulas stand in an answer, and where a dollar sign is only money.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Marked } from "../../web/static/vendor/marked.esm.js";
import { findMath, mathExtension } from "../../web/static/markup/math-syntax.js";

const marked = new Marked({ gfm: true, extensions: [mathExtension] });
const html = (text) => marked.parse(text).trim();

test("each delimiter: inline $…$ and \\(…\\), displayed $$…$$ and \\[…\\]", () => {
  assert.deepEqual(findMath("$x^2$ rest"), { raw: "$x^2$", tex: "x^2", display: false });
  assert.deepEqual(findMath("\\(a+b\\) rest"), { raw: "\\(a+b\\)", tex: "a+b", display: false });
  assert.deepEqual(findMath("$$\n\\int_0^1 x\\,dx\n$$"), { raw: "$$\n\\int_0^1 x\\,dx\n$$", tex: "\\int_0^1 x\\,dx", display: true });
  assert.deepEqual(findMath("\\[e^{i\\pi}+1=0\\]"), { raw: "\\[e^{i\\pi}+1=0\\]", tex: "e^{i\\pi}+1=0", display: true });
});

test("prices are prose: no formula opens before a space or closes before a digit", () => {
  for (const text of ["$5 and $10", "$ 5$", "$5/$10", "$a $", "$x\n\ny$", "$", "$$", "$$ $"]) {
    const found = findMath(text);
    assert.ok(found === null || found.raw !== text || text === "$5 and $10", `${text} → ${JSON.stringify(found)}`);
  }
  assert.equal(findMath("$5 and $10"), null);
  assert.equal(findMath("$5/$10"), null);
  assert.equal(html("The book costs $5 and the course $10, so $15 in all."), "<p>The book costs $5 and the course $10, so $15 in all.</p>");
  assert.equal(html("US$5 or US$10"), "<p>US$5 or US$10</p>");
});

test("a price before a formula stays a price, and the formula is typeset (Pandoc's pairing)", () => {
  assert.equal(
    html("It costs $5. The mean is $\\bar x$."),
    '<p>It costs $5. The mean is <span class="math-inline">\\bar x</span>.</p>',
  );
  assert.equal(findMath("$5. The mean is $\\bar x$."), null); // a "$" after a space ends it, as no formula
  assert.equal(html("From $3 to $x$"), '<p>From $3 to <span class="math-inline">x</span></p>');
  assert.equal(html("$x$ costs $5 and $y$ too"), '<p><span class="math-inline">x</span> costs $5 and <span class="math-inline">y</span> too</p>');
  assert.equal(html("$a$5"), "<p>$a$5</p>"); // the closing sign before a digit: no formula, not a later one
  assert.equal(findMath("$a$5 $b$"), null);
  assert.deepEqual(findMath("$a\nb$"), { raw: "$a\nb$", tex: "a\nb", display: false }); // one line break is fine
  assert.equal(html("Between $10 and $20, say $15."), "<p>Between $10 and $20, say $15.</p>");
});

test("an escaped dollar neither opens nor closes a formula", () => {
  assert.deepEqual(findMath("$a\\$b$"), { raw: "$a\\$b$", tex: "a\\$b", display: false });
  assert.equal(html("costs \\$5 and \\$10"), "<p>costs $5 and $10</p>");
});

test("formulas become placeholders holding their escaped source; code keeps its dollars", () => {
  assert.equal(html("Mean $\\bar x < y$."), '<p>Mean <span class="math-inline">\\bar x &lt; y</span>.</p>');
  assert.equal(html("$$a$$"), '<p><span class="math-display">a</span></p>');
  assert.equal(html("`$x$` and $y$"), '<p><code>$x$</code> and <span class="math-inline">y</span></p>');
  assert.equal(html("```\n$x$\n```"), "<pre><code>$x$\n</code></pre>");
  assert.equal(html("*$x$* **$y$**"), '<p><em><span class="math-inline">x</span></em> <strong><span class="math-inline">y</span></strong></p>');
});

test("a formula is bounded, so a stray sign costs a bounded read", () => {
  assert.equal(findMath(`$${"a".repeat(5000)}$`), null); // longer than a formula may be
  assert.deepEqual(findMath(`$a${"\\$b".repeat(10)}c$`)?.display, false); // a few escaped signs to pass over
  assert.equal(findMath(`$a${"\\$b".repeat(40)}c$`), null); // too many: not a formula
  assert.equal(findMath(`$$${"a".repeat(5000)}$$`), null);
  assert.equal(findMath(`\\(${"a".repeat(5000)}\\)`), null);
});
