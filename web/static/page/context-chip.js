// The framing host's context above the message box: what goes with the next questions, shown so
// nothing is sent that the person cannot see, with a button to remove it. Folded, it is one line
// with its length beside it; "Show all" unfolds the whole text (it scrolls when long), exactly as
// it is sent. Host text: textContent only.

import { formatNumber } from "../constants.js";
import { countChars } from "../data/conversation.js";
import { qs } from "./helpers.js";

const EXPANDED = "expanded";

export class ContextChip {
  constructor(root = document) {
    this.chip = qs("#host-context", root);
    this.text = qs("#host-context-text", root);
    this.length = qs("#host-context-length", root);
    this.toggle = qs("#host-context-toggle", root);
    this.removeButton = qs("#host-context-remove", root);
    this.toggle.addEventListener("click", () => this.expand(!this.chip.classList.contains(EXPANDED)));
  }

  bindRemove(handler) {
    this.removeButton.addEventListener("click", () => handler());
  }

  /** @param {{host: string, text: string}|null} context */
  show(context) {
    this.chip.hidden = context === null;
    this.text.textContent = context ? `Context from ${context.host}: ${context.text}` : "";
    this.text.title = context?.text ?? "";
    const chars = context ? countChars(context.text) : 0;
    this.length.textContent = chars === 1 ? "1 character" : `${formatNumber(chars)} characters`;
    if (context === null) this.expand(false);
  }

  /** Unfold the whole text (`true`) or fold it back to one line. */
  expand(expanded) {
    this.chip.classList.toggle(EXPANDED, expanded);
    this.toggle.setAttribute("aria-expanded", String(expanded));
    this.toggle.firstChild.textContent = expanded ? "Show less" : "Show all";
  }
}
