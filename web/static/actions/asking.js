// Asking: send a question, stop its answer, ask again (retry, regenerate, an edited question),
// take away an answer stopped before its first word; the message box's limit; a framing host's
// context and questions. The answers (server/answers.js) go on in their own conversations when
// another one is shown; what is drawn is for the open one only.

import { PAGE_EVENT, formatNumber } from "../constants.js";
import { ROLE, countChars, isRetryable, retryWait } from "../data/conversation.js";
import { UNREACHABLE } from "../data/outcome.js";
import { isEmptyStop } from "../messages/message-actions.js";

export class Asking {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, view: import("../page/view.js").View,
   *          topbar: import("../page/topbar.js").Topbar,
   *          messageList: import("../messages/message-list.js").MessageList,
   *          settings: object, answers: import("../server/answers.js").Answers,
   *          saving: import("./saving.js").Saving, countdown: import("./retry-countdown.js").RetryCountdown,
   *          conversations: import("./conversations.js").Conversations, events: EventTarget,
   *          contextChip?: import("../page/context-chip.js").ContextChip|null}} parts
   */
  constructor({ store, view, topbar, messageList, settings, answers, saving, countdown, conversations, events, contextChip = null }) {
    this.store = store;
    this.view = view;
    this.topbar = topbar;
    this.messageList = messageList;
    this.settings = settings;
    this.answers = answers;
    this.saving = saving;
    this.countdown = countdown;
    this.conversations = conversations;
    this.events = events;
    this.contextChip = contextChip;
    this.context = null; // {host, text}: a framing host's context, sent with each question until removed

    view.bindSend((text) => this.send(text));
    view.bindComposerInput((text) => this.checkComposer(text));
    view.bindStop(() => this.stop());
    view.bindOnline(() => this.retryUnsent());
    messageList.bindRetry(() => this.retry(this.conversations.active));
    messageList.bindRegenerate((index) => this.regenerate(index));
    messageList.bindEdit((index, text) => this.edit(index, text));
    messageList.bindRemove((index) => this.removeEmptyTurn(index));
    contextChip?.bindRemove(() => {
      this.setContext(null);
      this.tell(PAGE_EVENT.CONTEXT_REMOVED);
      this.view.focusComposer(); // the focused button is gone
    });
  }

  tell(type, detail = null) {
    this.events.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** The question as it will be sent, or null (and `showError` told why) when it is too long or empty. */
  checkedQuestion(rawText, showError) {
    const text = rawText.trim();
    if (text === "") return null;
    const limit = this.settings.maxMessageChars;
    const length = countChars(text);
    if (limit > 0 && length > limit) {
      showError(
        `This message is ${formatNumber(length)} characters long; the limit is ` +
          `${formatNumber(limit)}. Shorten it or split it, then send again.`,
      );
      return null;
    }
    return text;
  }

  send(rawText) {
    const conversation = this.conversations.active;
    if (this.answers.isAnswering(conversation)) {
      if (rawText.trim() !== "") this.view.showAnswerInProgress(); // the text stays in the box
      return;
    }
    // Refused, every character stays in the box.
    const text = this.checkedQuestion(rawText, (error) => this.view.showComposerError(error));
    if (text === null) return;
    this.view.clearComposerError();
    this.view.clearComposer();

    const previousLast = conversation.messages.length - 1;
    if (isRetryable(conversation, previousLast)) {
      // A new question replaces the offer to retry the failed one.
      this.countdown.stop();
      this.messageList.updateStatus(conversation.messages[previousLast], previousLast);
    } else if (conversation.messages[previousLast] && isEmptyStop(conversation.messages[previousLast])) {
      // An answer stopped before its first word would stay between two questions, saying nothing.
      this.store.removeLast(conversation);
      this.messageList.removeMessage(previousLast);
    }
    const question = this.store.addQuestion(conversation, text, this.context);
    this.messageList.appendUserMessage(question, conversation.messages.length - 1);
    this.ask(conversation);
  }

  /** Ask for an answer to the conversation as it stands; drawn while that conversation is shown. */
  ask(conversation) {
    const deployment = this.topbar.deploymentFor(conversation);
    if (deployment) this.store.setDeployment(conversation, deployment);
    const dropped = this.answers.start(conversation);
    this.tell(PAGE_EVENT.ANSWER_STARTED, { conversation });
    this.saving.save(conversation);
    this.conversations.renderList();
    if (this.conversations.active !== conversation) return;
    if (dropped > 0) this.view.showTrimNotice(dropped);
    else this.view.hideTrimNotice();
    this.topbar.showConversation(conversation);
    const index = conversation.messages.length - 1;
    this.messageList.beginAnswer(conversation.messages[index], index);
    this.view.setStreaming(true);
  }

  /** A framing host's context for the next questions, or null: none. */
  setContext(context) {
    this.context = context;
    this.contextChip?.show(context);
  }

  /** A framing host's question: in the box as if typed, and sent if `send`. */
  prefill(text, { send = false } = {}) {
    this.view.setComposerText(text);
    this.checkComposer(text);
    if (send) this.send(text);
  }

  onAnswerText(conversation, message) {
    if (this.conversations.active === conversation) this.messageList.updateAnswer(message);
    this.saving.soon();
  }

  onAnswerEnd(conversation, message, index) {
    this.tell(PAGE_EVENT.ANSWER_ENDED, { conversation, message });
    this.saving.save(conversation);
    this.conversations.renderList();
    if (this.conversations.active !== conversation || index === -1) return;
    this.view.setStreaming(false);
    const retryable = isRetryable(conversation, index);
    this.messageList.finishAnswer(message, index, { retryable, retryWait: retryWait(message) });
    if (retryable && message.retryAt) this.countdown.start(conversation, index);
  }

  stop() {
    this.answers.stop(this.conversations.active);
  }

  /** Ask again in place of the failed last turn of `conversation`. */
  retry(conversation) {
    if (!conversation || this.answers.isAnswering(conversation)) return;
    const index = conversation.messages.length - 1;
    if (!isRetryable(conversation, index)) return;
    if (retryWait(conversation.messages[index]) > 0) return;
    // The failed turn is replaced, not kept beside the new answer.
    this.store.removeLast(conversation);
    if (this.conversations.active === conversation) {
      this.countdown.stop();
      this.messageList.removeMessage(index);
      this.view.focusComposer();
    }
    this.ask(conversation);
  }

  /** Back online: send again what could not leave while offline, in every conversation. */
  retryUnsent() {
    for (const conversation of this.store.list()) {
      if (conversation.messages.at(-1)?.error?.code === UNREACHABLE.OFFLINE) this.retry(conversation);
    }
  }

  /** A new answer in place of the last one (finished or stopped). */
  regenerate(index) {
    const conversation = this.conversations.active;
    const message = conversation.messages[index];
    const last = index === conversation.messages.length - 1;
    if (this.answers.isAnswering(conversation) || !last || message?.role !== ROLE.ASSISTANT) return;
    this.store.removeLast(conversation);
    this.messageList.removeMessage(index);
    this.view.focusComposer();
    this.ask(conversation);
  }

  /** Send an edited question in place of the one at `index`; the turns after it go. */
  edit(index, rawText) {
    const conversation = this.conversations.active;
    if (this.answers.isAnswering(conversation) || conversation.messages[index]?.role !== ROLE.USER) return;
    const text = this.checkedQuestion(rawText, (error) => this.messageList.showEditError(index, error));
    if (text === null) return;
    this.countdown.stop();
    this.store.replaceQuestion(conversation, index, text); // asked with a host's context, still asked with it
    this.messageList.render(conversation.messages);
    this.view.focusComposer();
    this.ask(conversation);
  }

  /** An answer stopped before its first word says nothing: the person may take it away. */
  removeEmptyTurn(index) {
    const conversation = this.conversations.active;
    const message = conversation.messages[index];
    if (index !== conversation.messages.length - 1 || !message || !isEmptyStop(message)) return;
    this.store.removeLast(conversation);
    this.messageList.removeMessage(index);
    this.saving.save(conversation);
    this.view.focusComposer();
  }

  checkComposer(text) {
    const limit = this.settings.maxMessageChars;
    const length = countChars(text.trim());
    this.view.showCharCount(length, limit);
    if (limit === 0 || length <= limit) this.view.clearComposerError();
  }
}
