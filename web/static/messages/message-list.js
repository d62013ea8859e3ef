// The messages of the open conversation: drawn whole, added to, the streaming answer
// replaced by its finished form; each message's actions, and a question edited in place.
// Model text reaches the page only through the sanitized markdown of message-markup.js.

import { KEY } from "../constants.js";
import { ROLE, TURN } from "../data/conversation.js";
import { delegate, qs } from "../page/helpers.js";
import { copyCode, copyWithFeedback } from "./copy-code.js";
import { FollowScroll } from "./follow-scroll.js";
import { LiveAnswer } from "./live-answer.js";
import { ACTION, editForm, removeLastOnlyActions } from "./message-actions.js";
import { messageElement, messageShell, statusFooter } from "./message-markup.js";

// What a screen reader hears of an answer: that it began and how it ended, not each word
// (the list itself is not a live region). An error is read out by its own alert.
const ANSWER_ANNOUNCEMENTS = Object.freeze({
  [TURN.STREAMING]: "Writing an answer.",
  [TURN.DONE]: "Answer finished.",
  [TURN.STOPPED]: "Answer stopped.",
});

/**
 * Make `current` the finished message `fresh`, keeping its own body: the answer's text drawn
 * while it streamed stays where it is (its layout too); the rest comes from `fresh`.
 */
function adoptAllButBody(current, fresh) {
  const body = qs(".message-body", current);
  const freshBody = qs(".message-body", fresh);
  for (const name of fresh.getAttributeNames()) current.setAttribute(name, fresh.getAttribute(name));
  body.className = freshBody.className;
  const children = [...fresh.children];
  const split = children.indexOf(freshBody);
  for (const child of [...current.children]) if (child !== body) child.remove();
  body.before(...children.slice(0, split));
  body.after(...children.slice(split + 1));
}

export class MessageList {
  constructor(root = document) {
    this.list = qs("#messages", root);
    this.emptyState = qs("#empty-state", root);
    this.scroll = new FollowScroll(qs("#messages-scroller", root), qs("#jump-latest", root));
    this.live = null; // the LiveAnswer being streamed
    this.answerStatus = qs("#answer-status", root);
    this.messages = []; // the conversation drawn: the controller's own array, so always current
    delegate(this.list, "[data-action='copy-code']", "click", (copyButton) => copyCode(copyButton));
    delegate(this.list, `[data-action='${ACTION.COPY}']`, "click", (copyButton) => {
      copyWithFeedback(copyButton, this.messages[this.indexOf(copyButton)]?.content ?? "");
    });
  }

  bindRetry(handler) {
    delegate(this.list, "[data-action='retry']", "click", () => handler());
  }

  bindRegenerate(handler) {
    delegate(this.list, `[data-action='${ACTION.REGENERATE}']`, "click", (target) => handler(this.indexOf(target)));
  }

  bindRemove(handler) {
    delegate(this.list, `[data-action='${ACTION.REMOVE}']`, "click", (target) => handler(this.indexOf(target)));
  }

  /** Edit a question in place; `handler(index, text)` sends it. "Edit question" under a refused turn edits the one above. */
  bindEdit(handler) {
    delegate(this.list, `[data-action='${ACTION.EDIT}']`, "click", (target) => {
      const index = this.indexOf(target);
      this.startEdit(this.messages[index]?.role === ROLE.USER ? index : index - 1, handler);
    });
  }

  /** Replace the whole list with a conversation's messages; an answer still being written goes on live. */
  render(messages, { retryIndex = -1, retryWait = 0, streamingSince = null } = {}) {
    this.endLive();
    this.messages = messages;
    const last = messages.length - 1;
    const streaming = messages[last]?.status === TURN.STREAMING;
    const drawn = streaming ? messages.slice(0, last) : messages;
    const articles = drawn.map((message, index) =>
      messageElement(message, index, { retryable: index === retryIndex, retryWait, last: index === last }),
    );
    this.list.replaceChildren(...articles);
    if (streaming) {
      this.beginAnswer(messages[last], last, streamingSince ?? undefined);
      this.updateAnswer(messages[last]);
    }
    this.updateEmptyState();
    this.scroll.scrollToLatest();
  }

  appendUserMessage(message, index) {
    removeLastOnlyActions(this.list);
    this.list.append(messageElement(message, index, { last: true }));
    this.updateEmptyState();
    this.scroll.scrollToLatest();
  }

  /** Add the assistant turn that is about to stream, with its thinking indicator. */
  beginAnswer(message, index, startedAt = Date.now()) {
    this.live?.cancel();
    const article = messageShell(message, index);
    this.live = new LiveAnswer(article, () => this.scroll.keepFollowing(), startedAt);
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
    const current = this.live?.article ?? this.article(index);
    const kept = this.live !== null && this.live.finishInPlace(message.content);
    const replacement = messageElement(message, index, { retryable, retryWait, reasoningOpen, drawContent: !kept, last: true });
    if (kept) adoptAllButBody(current, replacement);
    else if (current) current.replaceWith(replacement);
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

  /** Redraw only the status line of one message (e.g. a retry countdown), without announcing it again. */
  updateStatus(message, index, { retryable = false, retryWait = 0 } = {}) {
    const article = this.article(index);
    if (!article) return;
    const hadFocus = article.contains(document.activeElement);
    const footer = statusFooter(message, { retryable, retryWait, announce: false });
    qs(".message-footer", article).replaceWith(footer);
    if (hadFocus) qs(".retry-button", footer)?.focus();
  }

  /** Remove one message (a failed turn about to be retried, an empty stopped one). */
  removeMessage(index) {
    this.article(index)?.remove();
    this.updateEmptyState();
  }

  article(index) {
    return this.list.querySelector(`[data-index="${index}"]`);
  }

  indexOf(node) {
    return Number(node.closest("[data-index]")?.dataset.index ?? -1);
  }

  // ---- editing a question -------------------------------------------------------------

  startEdit(index, handler) {
    const article = this.article(index);
    const message = this.messages[index];
    if (!article || message?.role !== ROLE.USER) return;
    let form = qs(".edit-form", article);
    if (!form) {
      form = editForm(message.content);
      article.classList.add("editing");
      article.append(form);
      const input = qs(".edit-input", form);
      const send = () => handler(index, input.value);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        send();
      });
      input.addEventListener("keydown", (event) => {
        if (event.isComposing) return;
        if (event.key === KEY.ENTER && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
          event.preventDefault();
          send();
        } else if (event.key === KEY.ESCAPE) {
          event.preventDefault(); // not the page's Esc (stop)
          this.cancelEdit(index);
        }
      });
      qs(`[data-action='${ACTION.CANCEL_EDIT}']`, form).addEventListener("click", () => this.cancelEdit(index));
    }
    const input = qs(".edit-input", form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** Put the question back as it was; focus returns to its Edit button. */
  cancelEdit(index) {
    const article = this.article(index);
    if (!article) return;
    const replacement = messageElement(this.messages[index], index, { last: index === this.messages.length - 1 });
    article.replaceWith(replacement);
    qs(`[data-action='${ACTION.EDIT}']`, replacement)?.focus();
  }

  showEditError(index, text) {
    const error = qs(".edit-error", this.article(index) ?? this.list);
    if (!error) return;
    error.textContent = text;
    error.hidden = false;
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
