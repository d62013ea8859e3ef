// The Copy button of a code block: the code goes to the clipboard, the button says how it went.

import { element } from "./helpers.js";

const COPIED_FEEDBACK_MS = 1500;

/** @param {HTMLButtonElement} copyButton a button inside a `.code-block` */
export async function copyCode(copyButton) {
  const code = copyButton.closest(".code-block")?.querySelector("pre");
  if (!code) return;
  const text = code.textContent;
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    copied = copyWithSelection(text);
  }
  copyButton.textContent = copied ? "Copied" : "Copy failed";
  setTimeout(() => {
    copyButton.textContent = "Copy";
  }, COPIED_FEEDBACK_MS);
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
