// Where LaTeX stands in an answer: `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` displayed.
// A marked extension finds each formula and writes it as a placeholder holding its TeX source
// (escaped), which math.js later turns into MathML. Pure: runs in Node.
//
// A dollar sign in prose stays a dollar sign: after Pandoc, an opening `$` must be followed by
// a non-space and a closing `$` preceded by a non-space and not followed by a digit, so
// "costs $5 and $10" is text. Formulas are bounded in length, so a stray sign costs little.

const MAX_FORMULA_CHARS = 2000;
// How far `start` looks for the next formula. marked asks once per inline text token; an
// unbounded search would read the rest of a long paragraph each time.
const START_WINDOW = 4000;
const START = /\$|\\[([]/;
const WHITESPACE = /\s/;
const DIGIT = /\d/;

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
    const end = src.indexOf(close, open.length);
    if (end === -1 || end > MAX_FORMULA_CHARS) return null;
    const tex = src.slice(open.length, end);
    if (tex.trim() === "" || tex.includes("\n\n")) return null;
    return { raw: src.slice(0, end + close.length), tex: tex.trim(), display };
  }
  if (src[0] !== "$" || src.length < 3 || WHITESPACE.test(src[1])) return null;
  const limit = Math.min(src.length, MAX_FORMULA_CHARS);
  for (let index = 1; index < limit; index++) {
    const char = src[index];
    if (char === "\\") {
      index++; // an escaped character, e.g. \$, never closes
    } else if (char === "\n" && src[index + 1] === "\n") {
      return null;
    } else if (char === "$") {
      if (!WHITESPACE.test(src[index - 1]) && !DIGIT.test(src[index + 1] ?? "")) {
        return { raw: src.slice(0, index + 1), tex: src.slice(1, index), display: false };
      }
      if (src[index + 1] === "$") return null; // "$a $$": not a formula, and not worth reading on
    }
  }
  return null;
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
