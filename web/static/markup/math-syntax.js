// Where LaTeX stands in an answer: `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` displayed.
// A marked extension finds each formula and writes it as a placeholder holding its TeX source
// (escaped), which math.js later turns into MathML. Pure: runs in Node.
//
// A dollar sign in prose stays a dollar sign: after Pandoc, an opening `$` must be followed by
// a non-space and a closing `$` preceded by a non-space and not followed by a digit, so
// "costs $5 and $10" is text, and so is the price in "costs $5, the mean is $\bar x$". Formulas are bounded in length, so a stray sign costs little.

const MAX_FORMULA_CHARS = 2000;
const MAX_INLINE_CHARS = 1000;
const MAX_CLOSING_CANDIDATES = 16;
// How far `start` looks for the next formula. marked asks once per inline text token; an
// unbounded search would read the rest of a long paragraph each time.
const START_WINDOW = 4000;
const START = /\$|\\[([]/;
const isSpace = (char) => char === " " || char === "\n" || char === "\t" || char === "\r";
const isDigit = (char) => char >= "0" && char <= "9";

const DELIMITERS = [
  { open: "$$", close: "$$", display: true },
  { open: "\\[", close: "\\]", display: true },
  { open: "\\(", close: "\\)", display: false },
];

/**
 * The formula at the start of `src`, if one starts there.
 * @param {string} src
 * @returns {{raw: string, tex: string, display: boolean} | null}
 */
export function findMath(src) {
  for (const { open, close, display } of DELIMITERS) {
    if (!src.startsWith(open)) continue;
    const end = src.slice(0, MAX_FORMULA_CHARS + close.length).indexOf(close, open.length);
    if (end === -1) return null;
    const tex = src.slice(open.length, end);
    if (tex.trim() === "" || tex.includes("\n\n")) return null;
    return { raw: src.slice(0, end + close.length), tex: tex.trim(), display };
  }
  if (src[0] !== "$" || src.length < 3 || isSpace(src[1])) return null;
  // As Pandoc reads it: the formula ends at the first unescaped "$" after the opening one, and is
  // one only if that "$" follows a non-space and is not followed by a digit; a "$" after a space
  // ends it too, as no formula. So in "It costs $5. The mean is $\bar x$." the first sign is
  // money and the formula is "\bar x", where "5. The mean is $\bar x" was typeset before.
  // Bounded: no blank line, at most MAX_INLINE_CHARS, at most MAX_CLOSING_CANDIDATES escaped
  // signs passed over, so that a line full of prices costs little (marked asks at every "$").
  const window = src.slice(0, MAX_INLINE_CHARS);
  const blankLine = window.indexOf("\n\n");
  const limit = blankLine === -1 ? window.length : blankLine;
  let candidates = MAX_CLOSING_CANDIDATES;
  for (let index = window.indexOf("$", 1); index !== -1 && index < limit; index = window.indexOf("$", index + 1)) {
    if (--candidates < 0) return null;
    if (isEscaped(src, index)) continue;
    if (isSpace(src[index - 1]) || isDigit(src[index + 1] ?? "")) return null;
    return { raw: src.slice(0, index + 1), tex: src.slice(1, index), display: false };
  }
  return null;
}

/** Whether the character at `index` follows an odd number of backslashes. */
function isEscaped(text, index) {
  let backslashes = 0;
  while (index - backslashes - 1 >= 0 && text[index - backslashes - 1] === "\\") backslashes += 1;
  return backslashes % 2 === 1;
}

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text) => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);

export const MATH_CLASS = Object.freeze({ inline: "math-inline", display: "math-display" });

/** The marked extension: a formula becomes `<span class="math-…">TeX source</span>`. */
export const mathExtension = Object.freeze({
  name: "math",
  level: "inline",
  start(src) {
    const index = src.slice(0, START_WINDOW).search(START);
    return index === -1 ? Math.min(src.length, START_WINDOW) : index;
  },
  tokenizer(src) {
    const found = findMath(src);
    return found ? { type: "math", ...found } : undefined;
  },
  renderer({ tex, display }) {
    return `<span class="${display ? MATH_CLASS.display : MATH_CLASS.inline}">${escapeHtml(tex)}</span>`;
  },
});
