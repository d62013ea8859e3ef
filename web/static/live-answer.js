// The answer being streamed: a typing indicator until the first text, then the text
// drawn at most once an animation frame. Finished markdown blocks are rendered once and
// kept; only the block still being written is redrawn.

import { element, qs } from "./helpers.js";
import { splitCompletedBlocks } from "./markdown.js";
import { markdownFragment, typingIndicator } from "./message-markup.js";

export class LiveAnswer {
  /**
   * @param {HTMLElement} article the answer's article, from messageShell
   * @param {() => void} onDrawn called after each frame is drawn (to follow the text)
   */
  constructor(article, onDrawn) {
    this.article = article;
    this.body = qs(".message-body", article);
    this.open = element("div", "markdown-open");
    this.typing = typingIndicator();
    this.body.append(this.open, this.typing);
    this.onDrawn = onDrawn;
    this.renderedUpTo = 0;
    this.text = "";
    this.frame = 0;
  }

  /** The whole text so far; drawn at the next animation frame. */
  update(text) {
    this.text = text;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  /** No more drawing: the answer has ended or left the page. */
  cancel() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  draw() {
    this.frame = 0;
    const text = this.text;
    const split = Math.max(splitCompletedBlocks(text), this.renderedUpTo);
    if (split > this.renderedUpTo) {
      this.body.insertBefore(markdownFragment(text.slice(this.renderedUpTo, split)), this.open);
      this.renderedUpTo = split;
    }
    this.open.replaceChildren(markdownFragment(text.slice(split)));
    if (text !== "" && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
    this.onDrawn();
  }
}
