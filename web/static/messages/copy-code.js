// Copying to the clipboard: the Copy button of a code block, and the copy actions of whole
// messages. The button says how it went. Direction controls in code (Trojan Source: code that
// reads in another order than it runs) are left out of what a code block's Copy puts on the
// clipboard, and the button says so.

import { countBidi, withoutBidi } from "../markup/bidi.js";
import { element } from "../page/helpers.js";

const COPIED_FEEDBACK_MS = 1500;

/** @param {HTMLButtonElement} copyButton a button inside a `.code-block` */
export function copyCode(copyButton) {
  const code = copyButton.closest(".code-block")?.querySelector("pre");
  if (!code) return;
  const controls = countBidi(code.textContent);
  const left = controls === 1 ? "1 direction control" : `${controls} direction controls`;
  copyWithFeedback(copyButton, withoutBidi(code.textContent), controls > 0 ? `Copied without ${left}` : "Copied");
}

/** Copy `text`; the button reads "Copied" (or `done`, or "Copy failed") for a moment. */
export async function copyWithFeedback(copyButton, text, done = "Copied") {
  copyButton.dataset.label ??= copyButton.textContent; // a second click while it says "Copied"
  const copied = await copyText(text);
  copyButton.textContent = copied ? done : "Copy failed";
  setTimeout(() => {
    copyButton.textContent = copyButton.dataset.label;
  }, COPIED_FEEDBACK_MS);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return copyWithSelection(text);
  }
}

// Older browsers, or a page not served over https/localhost: no async clipboard.
function copyWithSelection(text) {
  const area = element("textarea", "clipboard-fallback");
  area.value = text;
  area.setAttribute("readonly", "");
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
