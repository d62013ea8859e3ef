// Formulas in answers: the placeholders math-syntax.js writes (their TeX source as text)
// become MathML made by KaTeX (vendored, imported the first time a formula appears) and
// cleaned by DOMPurify, which drops what would move a part of it out of its place (markdown.js).
// MathML needs no style attributes, so the strict CSP holds. A formula
// KaTeX cannot read keeps showing its source.

import { sanitizeMathMl } from "./markdown.js";
import { MATH_CLASS } from "./math-syntax.js";
import { SlicedWork } from "./sliced-work.js";

const MAX_CACHED = 500;
// No \href, \url or \htmlStyle (trust), no rule or box beyond 10em (maxSize), and few
// macro expansions, so that a formula cannot grow without bound (maxExpand).
const KATEX_LIMITS = Object.freeze({ trust: false, maxSize: 10, maxExpand: 200 });
// TeX (with its display mode) → its sanitized MathML, so a formula in the block still being
// written is typeset once, not at every frame.
const typeset = new Map();
const TYPESET = "math-typeset";
const SELECTOR = `:is(.${MATH_CLASS.inline}, .${MATH_CLASS.display}):not(.${TYPESET})`;

const work = new SlicedWork(
  () => import("../vendor/katex.min.js").then((module) => module.default),
  (katex, placeholder) => {
    if (placeholder.classList.contains(TYPESET)) return;
    const key = keyOf(placeholder);
    if (!typeset.has(key)) typeset.set(key, render(katex, placeholder.textContent, key[0] === "d"));
    if (typeset.size > MAX_CACHED) typeset.delete(typeset.keys().next().value);
    if (placeholder.isConnected) show(placeholder, typeset.get(key));
  },
);

function keyOf(placeholder) {
  return `${placeholder.classList.contains(MATH_CLASS.display) ? "d" : "i"}${placeholder.textContent}`;
}

function render(katex, tex, displayMode) {
  try {
    const html = katex.renderToString(tex, { output: "mathml", displayMode, throwOnError: true, ...KATEX_LIMITS });
    return sanitizeMathMl(html);
  } catch {
    return null; // not TeX KaTeX reads: the source stays
  }
}

function show(placeholder, mathMl) {
  if (!mathMl) return;
  placeholder.replaceChildren(mathMl.cloneNode(true));
  placeholder.classList.add(TYPESET);
}

/** Typeset the formulas in `root`: at once those seen before, the others soon. */
export function typesetMath(root) {
  for (const placeholder of root.querySelectorAll(SELECTOR)) {
    const known = typeset.get(keyOf(placeholder));
    if (known === undefined) work.add(placeholder);
    else show(placeholder, known);
  }
}
