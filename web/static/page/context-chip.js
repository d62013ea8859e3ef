// The framing host's context above the message box: what goes with the next questions, shown so
// nothing is sent that the person cannot see, with a button to remove it. Host text: textContent only.

import { qs } from "./helpers.js";

export class ContextChip {
  constructor(root = document) {
    this.chip = qs("#host-context", root);
    this.text = qs("#host-context-text", root);
    this.removeButton = qs("#host-context-remove", root);
  }

  bindRemove(handler) {
    this.removeButton.addEventListener("click", () => handler());
  }

  /** @param {{host: string, text: string}|null} context */
  show(context) {
    this.chip.hidden = context === null;
    this.text.textContent = context ? `Context from ${context.host}: ${context.text}` : "";
    this.text.title = context?.text ?? "";
  }
}
