// Direction controls in model text, made visible and harmless. A right-to-left override
// (U+202E) in a link's text reverses what follows it, the "(host)" label included; in code
// (Trojan Source) it makes the code read in another order than it runs. Each control in an
// answer is put alone in a `.bidi-control` span: the span isolates it (its effect ends with
// the span) and shows its name (code.css draws `data-name`, so copying the text still gives
// the text). `bidiParts` and `withoutBidi` are pure and run in Node; `markBidi` needs a document.

/** The characters that change the order text is shown in, by the short names Unicode gives them. */
export const BIDI_NAMES = Object.freeze({
  "\u061C": "ALM",
  "\u200E": "LRM",
  "\u200F": "RLM",
  "\u202A": "LRE",
  "\u202B": "RLE",
  "\u202C": "PDF",
  "\u202D": "LRO",
  "\u202E": "RLO",
  "\u2066": "LRI",
  "\u2067": "RLI",
  "\u2068": "FSI",
  "\u2069": "PDI",
});

const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const HAS_BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
export const BIDI_CLASS = "bidi-control";

/** Whether `text` holds any direction control. */
export const hasBidi = (text) => HAS_BIDI.test(text);

/** How many direction controls `text` holds. */
export const countBidi = (text) => text.match(BIDI)?.length ?? 0;

/** `text` without its direction controls. */
export const withoutBidi = (text) => text.replace(BIDI, "");

/**
 * `text` cut at its direction controls: plain strings, and `{control, name}` for each control.
 * @returns {(string | {control: string, name: string})[]}
 */
export function bidiParts(text) {
  const parts = [];
  let start = 0;
  for (const match of text.matchAll(BIDI)) {
    if (match.index > start) parts.push(text.slice(start, match.index));
    parts.push({ control: match[0], name: BIDI_NAMES[match[0]] });
    start = match.index + 1;
  }
  if (start < text.length) parts.push(text.slice(start));
  return parts;
}

/** A label such as "U+202E RLO" for the control `char`. */
export function bidiLabel(char) {
  return `U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")} ${BIDI_NAMES[char] ?? ""}`.trim();
}

/** Put each direction control in the text under `root` in a span of its own that shows its name. */
export function markBidi(root) {
  const doc = root.ownerDocument ?? root;
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (hasBidi(node.data) && !node.parentElement?.classList.contains(BIDI_CLASS)) found.push(node);
  }
  for (const node of found) {
    const pieces = bidiParts(node.data).map((part) => {
      if (typeof part === "string") return doc.createTextNode(part);
      const span = doc.createElement("span");
      span.className = BIDI_CLASS;
      span.dataset.name = part.name;
      span.title = `Direction control ${bidiLabel(part.control)}`;
      span.textContent = part.control;
      return span;
    });
    node.replaceWith(...pieces);
  }
}
