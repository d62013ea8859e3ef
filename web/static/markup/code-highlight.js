// Syntax colours for code blocks that name their language, by highlight.js (vendored: its core
// with the common languages), imported the first time such a block appears. highlight.js
// writes spans with `hljs-*` classes (coloured by code.css); its output goes through DOMPurify.

import { markBidi } from "./bidi.js";
import { sanitizeHighlight } from "./markdown.js";
import { SlicedWork } from "./sliced-work.js";

// Larger blocks stay plain: one highlight pass over them would be a long task.
const MAX_HIGHLIGHT_CHARS = 20000;

const work = new SlicedWork(
  () => import("../vendor/highlight.min.js").then((module) => module.default),
  (hljs, code) => highlight(hljs, code),
);

function highlight(hljs, code) {
  const language = /^language-(.+)$/.exec(code.className)?.[1];
  if (!code.isConnected || !language || !hljs.getLanguage(language)) return;
  const text = code.textContent;
  const { value } = hljs.highlight(text, { language, ignoreIllegals: true });
  code.replaceChildren(sanitizeHighlight(value));
  markBidi(code); // highlight.js wrote the text anew: show its direction controls again
  code.classList.add("hljs");
}

/** Colour `code` (a `<code class="language-…">`) soon, once it is on the page. */
export function highlightLater(code) {
  if (code.textContent.length <= MAX_HIGHLIGHT_CHARS) work.add(code);
}
