// The messages of the open conversation: drawn whole, added to, the streaming answer
// replaced by its finished form. Model text reaches the page only through the sanitized
// markdown of message-markup.js.

import { TURN } from "./conversation.js";
import { copyCode } from "./copy-code.js";
import { FollowScroll } from "./follow-scroll.js";
import { delegate, qs } from "./helpers.js";
import { LiveAnswer } from "./live-answer.js";
import { messageElement, messageShell, statusFooter } from "./message-markup.js";

// What a screen reader hears of an answer: that it began and how it ended, not each word
// (the list itself is not a live region). An error is read out by its own alert.
const ANSWER_ANNOUNCEMENTS = Object.freeze({
  [TURN.STREAMING]: "Writing an answer.",
  [TURN.DONE]: "Answer finished.",
  [TURN.STOPPED]: "Answer stopped.",
});

export class MessageList {
  constructor(root = document) {
    this.list = qs("#messages", root);
    this.emptyState = qs("#empty-state", root);
    this.scroll = new FollowScroll(qs("#messages-scroller", root), qs("#jump-latest", root));
    this.live = null; // the LiveAnswer being streamed
    this.answerStatus = qs("#answer-status", root);
    delegate(this.list, "[data-action='copy-code']", "click", (copyButton) => copyCode(copyButton));
  }

  bindRetry(handler) {
    delegate(this.list, "[data-action='retry']", "click", () => handler());
  }

  /** Replace the whole list with a conversation's messages. */
  render(messages, { retryIndex = -1, retryWait = 0 } = {}) {
    this.endLive();
    const articles = messages.map((message, index) =>
      messageElement(message, index, { retryable: index === retryIndex, retryWait }),
    );
    this.list.replaceChildren(...articles);
    this.updateEmptyState();
    this.scroll.scrollToLatest();
  }

  appendUserMessage(message, index) {
    this.list.append(messageElement(message, index, {}));
    this.updateEmptyState();
    this.scroll.scrollToLatest();
  }

  /** Add the assistant turn that is about to stream, with its thinking indicator. */
  beginAnswer(message, index) {
    this.live?.cancel();
    const article = messageShell(message, index);
    this.live = new LiveAnswer(article, () => this.scroll.keepFollowing());
    this.list.append(article);
    this.announce(TURN.STREAMING);
    this.list.setAttribute("aria-busy", "true");
    this.updateEmptyState();
    this.scroll.scrollToLatest();
  }

  /** New text (reasoning or answer) for the streaming answer. */
  updateAnswer(message) {
    this.live?.update(message.reasoning ?? "", message.content);
  }

  /** The streaming answer has ended: draw it whole, once, with its status. */
  finishAnswer(message, index, { retryable = false, retryWait = 0 } = {}) {
    const reasoningOpen = this.live?.isReasoningOpen() ?? false;
    const renderedContent = this.live?.takeContent(message.content) ?? null;
    const replacement = messageElement(message, index, { retryable, retryWait, reasoningOpen, renderedContent });
    const current = this.live?.article ?? this.article(index);
    if (current) current.replaceWith(replacement);
    else this.list.append(replacement);
    this.endLive();
    this.scroll.keepFollowing();
    this.announce(message.status);
  }

  announce(status) {
    const text = ANSWER_ANNOUNCEMENTS[status] ?? "";
    // The same words again (two answers in a row) are read only if the text changes.
    this.answerStatus.textContent = text !== "" && this.answerStatus.textContent === text ? `${text}\u00a0` : text;
  }

  /** Redraw only the status line of one message (e.g. a retry countdown). */
  updateStatus(message, index, { retryable = false, retryWait = 0 } = {}) {
    const article = this.article(index);
    if (!article) return;
    const hadFocus = article.contains(document.activeElement);
    const footer = statusFooter(message, { retryable, retryWait });
    qs(".message-footer", article).replaceWith(footer);
    if (hadFocus) qs(".retry-button", footer)?.focus();
  }

  /** Remove one message (a failed turn about to be retried). */
  removeMessage(index) {
    this.article(index)?.remove();
    this.updateEmptyState();
  }

  article(index) {
    return this.list.querySelector(`[data-index="${index}"]`);
  }

  // No answer streams in the list any more (finished, or the list was redrawn).
  endLive() {
    this.live?.cancel();
    this.live = null;
    this.list.setAttribute("aria-busy", "false");
  }

  updateEmptyState() {
    this.emptyState.hidden = this.list.childElementCount > 0;
  }
}
