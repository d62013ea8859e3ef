// The answer being streamed: "Thinking… N s" until the first text of the answer, the
// model's reasoning (if it shares any) in an open section above it, then the answer's text,
// drawn at most ten times a second. Finished markdown blocks are rendered once and
// kept; only the block still being written is redrawn (its code is coloured once finished).
// When the answer ends, what was drawn is kept: only the last block is drawn again.

import { splitCompletedBlocks } from "../markup/markdown.js";
import { element, qs } from "../page/helpers.js";
import { elapsedText, markdownFragment, reasoningSection, thinkingIndicator } from "./message-markup.js";

// The elapsed seconds change once a second; a timer per frame would redraw for nothing.
const THINKING_TICK_MS = 1000;
// A draw costs more as the block being written grows (a long code block, a long table), and
// the page's layout after it too. After each draw, the next waits this many times what the last
// one cost, its frame included: drawing then keeps the main thread busy at most 1/(1+N) of the
// time. Measured on a 16 KB answer at 250 tokens/s: drawing every frame kept it busy ~30%.
const DRAW_SPACING = 5;
// And at most ten draws a second, however cheap each is: a frame costs the browser more than it
// shows in its own time (handing the frame over, bookkeeping). Measured on a 6,000-token answer at
// 250 tokens/s (bench/page.py): without this bound, 20 to 24 draws a second kept the main thread
// 17 to 20% busy; with it, 13%, the text shown 25 tokens at a time.
const MIN_DRAW_INTERVAL_MS = 100;

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
    this.open.replaceChildren(markdownFragment(text.slice(split), { highlight: false }));
  }

  /**
   * Draw the rest of `text` in place, final (its code coloured), so that the finished message
   * keeps every node drawn so far. False if `text` does not continue what was drawn.
   */
  finish(text) {
    if (!text.startsWith(this.drawn.slice(0, this.renderedUpTo))) return false;
    this.open.replaceWith(markdownFragment(text.slice(this.renderedUpTo)));
    return true;
  }
}

export class LiveAnswer {
  /**
   * @param {HTMLElement} article the answer's article, from messageShell
   * @param {() => void} onDrawn called after each frame is drawn (to follow the text)
   * @param {number} startedAt when the question was sent (an answer drawn again after a switch keeps its time)
   */
  constructor(article, onDrawn, startedAt = Date.now()) {
    this.article = article;
    this.body = qs(".message-body", article);
    this.answer = new GrowingMarkdown(this.body);
    this.reasoningSection = null; // the <details>, once reasoning arrives
    this.reasoning = null; // its GrowingMarkdown
    this.thinking = thinkingIndicator();
    this.body.append(this.thinking);
    this.startedAt = startedAt;
    this.tick();
    this.ticker = setInterval(() => this.tick(), THINKING_TICK_MS);
    this.onDrawn = onDrawn;
    this.text = { reasoning: "", content: "" };
    this.frame = 0;
    this.wait = 0; // timer until the next draw may be asked for
    this.measuring = false; // a draw's page work is being timed
    this.pending = false; // text not drawn yet
    this.nextDrawAt = 0;
    this.ended = false;
  }

  /** The whole reasoning and answer so far; drawn soon. */
  update(reasoning, content) {
    this.text = { reasoning, content };
    this.pending = true;
    this.schedule();
  }

  schedule() {
    if (this.wait || this.measuring || this.ended) return;
    // A task, not an animation frame: the scroll that follows the new text then reaches the
    // browser before its next frame, which lays out, paints and tells the scroll listener at
    // once. Drawn in a frame callback, the scroll came too late for that frame and cost one more
    // (the same answer: 14.5% of the main thread instead of 13%).
    this.wait = setTimeout(() => {
      this.wait = 0;
      this.draw();
    }, Math.max(0, this.nextDrawAt - performance.now()));
  }

  /**
   * End the drawing with the answer's text drawn whole in place: re-laying out a long answer
   * from new nodes was the longest task of a streamed answer (60 ms for 16 KB). False when
   * there is no text to keep (none, or withheld) or it must be drawn anew.
   */
  finishInPlace(content) {
    const reasoningOpen = this.isReasoningOpen();
    this.cancel();
    this.thinking?.remove();
    this.thinking = null;
    if (this.reasoningSection) this.reasoningSection.open = reasoningOpen;
    return content !== "" && this.answer.finish(content);
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
    clearTimeout(this.wait);
    this.frame = 0;
    this.wait = 0;
    this.ended = true;
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
    this.pending = false;
    this.measuring = true;
    const started = performance.now();
    let drawn = started;
    // What the draw cost: its own task, then the frame that lays it out and paints it (from the
    // frame's callback to a task queued there, which runs once the frame is done).
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const frameStarted = performance.now();
      setTimeout(() => {
        const now = performance.now();
        const cost = drawn - started + (now - frameStarted);
        this.measuring = false;
        this.nextDrawAt = Math.max(started + MIN_DRAW_INTERVAL_MS, now + cost * DRAW_SPACING);
        if (this.pending) this.schedule();
      });
    });
    try {
      this.drawText();
    } finally {
      drawn = performance.now();
    }
  }

  drawText() {
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
