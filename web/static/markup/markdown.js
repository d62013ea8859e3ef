// Markdown from the model → sanitized DOM, and the split of a streaming answer into
// finished blocks and the block still being written.
//
// The text comes from a language model, so it is untrusted: marked turns it into HTML
// with raw HTML escaped (shown as text, not interpreted), then DOMPurify removes
// anything active that is left (scripts, event handlers, javascript: links, styles).
// The markup that highlight.js and KaTeX make from model text goes through DOMPurify too.
// `splitCompletedBlocks` and `plainTextReason` are pure and run in Node; the rest needs a document.

import { formatNumber } from "../constants.js";
import { Marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.js";
import { MATH_CLASS, escapeHtml, mathExtension } from "./math-syntax.js";

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const BLANK_LINE = /^[ \t]*$/;
const STARTS_UNINDENTED = /^[^ \t\r\n]/;
const LANGUAGE_CLASS = /^language-[\w+#.-]{1,40}$/;
const MATH_CLASSES = new Set(Object.values(MATH_CLASS));

// marked takes time that grows faster than the text with a very long word (a 200,000-character
// one held the tab for seconds) and with deep nesting (a 500-level list: two seconds); below
// these bounds it stays within milliseconds. Beyond them the text is shown as it is.
const MAX_WORD_CHARS = 2000;
const MAX_NESTING = 100;

/**
 * Length of the prefix of `text` made of finished markdown blocks: everything up to the
 * last blank line that is outside a code fence and is followed by an unindented line
 * (an indented one may still continue a list item above). The rest is the open block,
 * which can still change as more text arrives.
 * @param {string} text
 * @returns {number}
 */
export function splitCompletedBlocks(text) {
  let boundary = 0;
  let fence = null; // {marker: "`"|"~", length: number} while inside a fenced block
  let pendingBoundary = -1; // end of a blank line, waiting to see the next line
  let position = 0;
  while (position < text.length) {
    const newline = text.indexOf("\n", position);
    if (newline === -1) {
      // Last, unterminated line: it may confirm a boundary but is itself unfinished.
      if (pendingBoundary !== -1 && STARTS_UNINDENTED.test(text.slice(position))) boundary = pendingBoundary;
      break;
    }
    const line = text.slice(position, newline);
    const lineEnd = newline + 1;
    if (fence) {
      const close = FENCE_CLOSE.exec(line);
      if (close && close[1][0] === fence.marker && close[1].length >= fence.length) fence = null;
    } else if (BLANK_LINE.test(line)) {
      pendingBoundary = lineEnd; // after several blank lines, past them all
    } else {
      if (pendingBoundary !== -1 && STARTS_UNINDENTED.test(line)) boundary = pendingBoundary;
      pendingBoundary = -1;
      const open = FENCE_OPEN.exec(line);
      if (open && !(open[1][0] === "`" && open[2].includes("`"))) {
        fence = { marker: open[1][0], length: open[1].length };
      }
    }
    position = lineEnd;
  }
  return boundary;
}

const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const LIST_ITEM = /^(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)/;

/** How deep the blockquotes and lists at the start of `line` go, counting two columns of indent as a level. */
function nestingDepth(line) {
  let depth = 0;
  let columns = 0;
  let position = 0;
  while (position < line.length) {
    const code = line.charCodeAt(position);
    if (code === SPACE) {
      columns += 1;
      position += 1;
    } else if (code === TAB) {
      columns += 4 - (columns % 4);
      position += 1;
    } else if (line[position] === ">") {
      depth += 1;
      position += line[position + 1] === " " ? 2 : 1; // the space after ">" belongs to the marker
    } else {
      const marker = LIST_ITEM.exec(line.slice(position, position + 12));
      if (!marker) break;
      depth += 1;
      position += marker[0].length;
    }
  }
  return depth + Math.floor(columns / 2);
}

/**
 * Why `text` is better shown as plain text than parsed as markdown (a word longer than the
 * parser handles quickly, or nesting too deep), or "" when it is fine. Linear in the text.
 * @param {string} text
 * @returns {string}
 */
export function plainTextReason(text) {
  let run = 0;
  let longest = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === SPACE || code === NEWLINE || code === TAB || code === CARRIAGE_RETURN) {
      run = 0;
    } else if (++run > longest) {
      longest = run;
    }
  }
  if (longest > MAX_WORD_CHARS) return `it has a word of ${formatNumber(longest)} characters`;
  let fence = null;
  let deepest = 0;
  for (const line of text.split("\n")) {
    const fenceLine = (fence ? FENCE_CLOSE : FENCE_OPEN).exec(line);
    if (fence) {
      if (fenceLine && fenceLine[1][0] === fence.marker && fenceLine[1].length >= fence.length) fence = null;
    } else if (fenceLine && !(fenceLine[1][0] === "`" && fenceLine[2].includes("`"))) {
      fence = { marker: fenceLine[1][0], length: fenceLine[1].length };
    } else {
      deepest = Math.max(deepest, nestingDepth(line));
    }
  }
  if (deepest > MAX_NESTING) return `it is nested ${formatNumber(deepest)} levels deep`;
  return "";
}

let markedInstance = null;
let purifier = null;
const markupPurifiers = new Map(); // options → a DOMPurify instance set up with them

function markdownParser() {
  if (markedInstance) return markedInstance;
  markedInstance = new Marked({
    async: false,
    gfm: true,
    breaks: false,
    extensions: [mathExtension],
    renderer: {
      // Raw HTML in the answer is shown as the text it is, never interpreted.
      html({ text, block }) {
        return block ? `<p>${escapeHtml(text)}</p>` : escapeHtml(text);
      },
      // No remote images: they would load from anywhere (and leak the reader's address);
      // the page's Content-Security-Policy blocks them anyway. Show a link instead.
      image({ href, text }) {
        const label = text && text.trim() !== "" ? text : "image";
        return `<a href="${escapeHtml(href ?? "")}">${escapeHtml(label)}</a>`;
      },
    },
  });
  return markedInstance;
}

function sanitizer() {
  if (purifier) return purifier;
  purifier = DOMPurify(globalThis.window);
  // Set once: passing options to each sanitize() call parses them again every time, and the
  // block being written is sanitized at every draw.
  purifier.setConfig(SANITIZE_OPTIONS);
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.hasAttribute?.("class")) {
      const name = node.getAttribute("class");
      const keep =
        (node.tagName === "CODE" && LANGUAGE_CLASS.test(name)) || (node.tagName === "SPAN" && MATH_CLASSES.has(name));
      if (!keep) node.removeAttribute("class");
    }
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
    if (node.tagName === "INPUT") {
      // Raw HTML is escaped, so inputs only come from task lists: read-only checkboxes.
      node.setAttribute("type", "checkbox");
      node.setAttribute("disabled", "");
    }
  });
  return purifier;
}

const SANITIZE_OPTIONS = Object.freeze({
  RETURN_DOM_FRAGMENT: true,
  ALLOW_DATA_ATTR: false,
  FORBID_TAGS: [
    "style", "img", "svg", "math", "form", "button", "textarea", "select", "option",
    "iframe", "frame", "object", "embed", "video", "audio", "source", "picture", "link", "meta", "base",
  ],
  FORBID_ATTR: ["style", "id", "name", "srcset", "action", "formaction"],
});

// The markup highlight.js and KaTeX write (from model text): only their own elements, no hooks.
const HIGHLIGHT_OPTIONS = Object.freeze({ RETURN_DOM_FRAGMENT: true, ALLOWED_TAGS: ["span"], ALLOWED_ATTR: ["class"] });
const MATHML_OPTIONS = Object.freeze({
  RETURN_DOM_FRAGMENT: true,
  USE_PROFILES: { mathMl: true },
  // KaTeX keeps the TeX source in an annotation, which MathML does not draw (copying keeps it).
  ADD_TAGS: ["semantics", "annotation"],
  ADD_ATTR: ["encoding"],
  FORBID_ATTR: ["style", "href", "class", "id"],
});

function sanitizeMarkup(html, options, hook) {
  let markupPurifier = markupPurifiers.get(options);
  if (!markupPurifier) {
    markupPurifier = DOMPurify(globalThis.window);
    markupPurifier.setConfig(options);
    if (hook) markupPurifier.addHook("uponSanitizeAttribute", hook);
    markupPurifiers.set(options, markupPurifier);
  }
  return markupPurifier.sanitize(html);
}

// A formula may not move what it draws out of its own place: over a link's "(host)" label, or
// over earlier messages. KaTeX writes such moves as attributes (`\raisebox`, `\rule[-3em]`:
// voffset; `\mathllap`, `\mathrlap`, `\smash`: mpadded sizes; `\kern-5em`: a negative
// width), which are dropped; the formula is then drawn at its natural size. Each formula is
// also clipped to its box (code.css).
const MOVING_ATTRIBUTES = new Set(["voffset", "lspace", "rspace", "width", "height", "depth"]);

function dropMoves(node, data) {
  if (!MOVING_ATTRIBUTES.has(data.attrName)) return;
  if (data.attrName === "voffset" || node.nodeName.toLowerCase() === "mpadded" || data.attrValue.trim().startsWith("-")) {
    data.keepAttr = false;
  }
}

/** highlight.js output (spans with `hljs-*` classes) → a sanitized fragment. */
export const sanitizeHighlight = (html) => sanitizeMarkup(html, HIGHLIGHT_OPTIONS);

/** KaTeX's MathML → a sanitized fragment of MathML elements only, none moved out of its place. */
export const sanitizeMathMl = (html) => sanitizeMarkup(html, MATHML_OPTIONS, dropMoves);

/** Text shown as it is, with a note saying why it was not rendered as markdown. */
function plainTextFragment(text, reason) {
  const fragment = document.createDocumentFragment();
  const note = document.createElement("p");
  note.className = "plain-text-note";
  note.textContent = `Shown as plain text: ${reason}.`;
  const body = document.createElement("p");
  body.className = "plain-text";
  body.textContent = text;
  fragment.append(note, body);
  return fragment;
}

/**
 * Markdown text → a sanitized DocumentFragment, safe to insert into the page.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const reason = plainTextReason(text);
  if (reason) return plainTextFragment(text, reason);
  let html;
  try {
    html = markdownParser().parse(text);
  } catch {
    html = `<p>${escapeHtml(text)}</p>`;
  }
  return sanitizer().sanitize(html);
}
