// Markdown from the model → sanitized DOM, and the split of a streaming answer into
// finished blocks and the block still being written.
//
// The text comes from a language model, so it is untrusted: marked turns it into HTML
// with raw HTML escaped (shown as text, not interpreted), then DOMPurify removes
// anything active that is left (scripts, event handlers, javascript: links, styles).
// `splitCompletedBlocks` is pure and runs in Node; `renderMarkdown` needs a document.

import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.js";

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const BLANK_LINE = /^[ \t]*$/;
const STARTS_UNINDENTED = /^[^ \t\r\n]/;
const LANGUAGE_CLASS = /^language-[\w+#.-]{1,40}$/;

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);

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

let markedInstance = null;
let purifier = null;

function markdownParser() {
  if (markedInstance) return markedInstance;
  markedInstance = new Marked({
    async: false,
    gfm: true,
    breaks: false,
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
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.hasAttribute?.("class")) {
      const keep = node.tagName === "CODE" && LANGUAGE_CLASS.test(node.getAttribute("class"));
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

/**
 * Markdown text → a sanitized DocumentFragment, safe to insert into the page.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  let html;
  try {
    html = markdownParser().parse(text);
  } catch {
    html = `<p>${escapeHtml(text)}</p>`;
  }
  return sanitizer().sanitize(html, SANITIZE_OPTIONS);
}
