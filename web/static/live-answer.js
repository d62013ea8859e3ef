// The answer being streamed: "Thinking… N s" until the first text of the answer, the
// model's reasoning (if it shares any) in an open section above it, then the answer's text,
// drawn at most once an animation frame. Finished markdown blocks are rendered once and
// kept; only the block still being written is redrawn.

import { element, qs } from "./helpers.js";
import { splitCompletedBlocks } from "./markdown.js";
import { elapsedText, markdownFragment, reasoningSection, thinkingIndicator } from "./message-markup.js";

// The elapsed seconds change once a second; a timer per frame would redraw for nothing.
const THINKING_TICK_MS = 1000;

/** Markdown that grows at its end, drawn into `container`. */
class GrowingMarkdown {
  constructor(container) {
    this.container = container;
    this.open = element("div", "markdown-open");
    container.append(this.open);
    this.renderedUpTo = 0;
    this.drawn = "";
  }

  draw(text) {
    if (text === this.drawn) return;
    this.drawn = text;
    const split = Math.max(splitCompletedBlocks(text), this.renderedUpTo);
    if (split > this.renderedUpTo) {
      this.container.insertBefore(markdownFragment(text.slice(this.renderedUpTo, split)), this.open);
      this.renderedUpTo = split;
    }
    this.open.replaceChildren(markdownFragment(text.slice(split)));
  }
}

export class LiveAnswer {
  /**
   * @param {HTMLElement} article the answer's article, from messageShell
   * @param {() => void} onDrawn called after each frame is drawn (to follow the text)
   */
  constructor(article, onDrawn) {
    this.article = article;
    this.body = qs(".message-body", article);
    this.answer = new GrowingMarkdown(this.body);
    this.reasoningSection = null; // the <details>, once reasoning arrives
    this.reasoning = null; // its GrowingMarkdown
    this.thinking = thinkingIndicator();
    this.body.append(this.thinking);
    this.startedAt = Date.now();
    this.ticker = setInterval(() => this.tick(), THINKING_TICK_MS);
    this.onDrawn = onDrawn;
    this.text = { reasoning: "", content: "" };
    this.frame = 0;
  }

  /** The whole reasoning and answer so far; drawn at the next animation frame. */
  update(reasoning, content) {
    this.text = { reasoning, content };
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  /**
   * Whether the reasoning is open, to keep it so when the answer is drawn whole. The last
   * text and the end often come in one read, before a frame has drawn them: the answer
   * counts as begun (which closes the section) even if no frame has shown it yet.
   */
  isReasoningOpen() {
    const answerBegun = this.text.content !== "";
    if (answerBegun && this.thinking) return false; // the draw that would close it has not run
    return this.reasoningSection?.open ?? !answerBegun;
  }

  /** No more drawing: the answer has ended or left the page. */
  cancel() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.stopThinking();
  }

  tick() {
    qs(".thinking-elapsed", this.thinking).textContent = elapsedText(this.startedAt);
  }

  stopThinking() {
    clearInterval(this.ticker);
    this.ticker = 0;
  }

  draw() {
    this.frame = 0;
    const { reasoning, content } = this.text;
    if (reasoning !== "") {
      if (!this.reasoningSection) {
        this.reasoningSection = reasoningSection(true);
        this.reasoning = new GrowingMarkdown(qs(".reasoning-body", this.reasoningSection));
        this.body.before(this.reasoningSection);
      }
      this.reasoning.draw(reasoning);
    }
    this.answer.draw(content);
    if (content !== "" && this.thinking) {
      // The answer has begun: the thinking is over. Its section closes once; the reader may reopen it.
      this.stopThinking();
      this.thinking.remove();
      this.thinking = null;
      if (this.reasoningSection) this.reasoningSection.open = false;
    }
    this.onDrawn();
  }
}
