// What happens when the person acts: send, stop, retry, switch, delete. Holds the state
// of the one answer that may be streaming; the store keeps the conversations, the message
// list draws the open one and the view draws the rest of the page.

import { OUTCOME } from "./api.js";
import { ROLE, TURN, countChars, isWithheld, toRequestMessages, trimToLimits, withhold } from "./conversation.js";

const SAVE_WHILE_STREAMING_MS = 1000;
const UNDO_DELETE_MS = 10000;
const COUNTDOWN_TICK_MS = 1000;
const NUMBER_FORMAT = new Intl.NumberFormat();

export class Controller {
  /**
   * @param {{store: import("./store.js").ConversationStore, view: import("./view.js").View,
   *          messageList: import("./message-list.js").MessageList,
   *          chatUrl: URL, settings: object, streamChat: Function}} parts
   */
  constructor({ store, view, messageList, chatUrl, settings, streamChat }) {
    this.store = store;
    this.view = view;
    this.messageList = messageList;
    this.chatUrl = chatUrl;
    this.settings = settings;
    this.streamChat = streamChat;
    this.active = null;
    this.stream = null; // {abort, conversation, message, index} while an answer streams
    this.saveTimer = 0;
    this.countdownTimer = 0;
    this.deleted = null;
    this.undoTimer = 0;

    view.bindSend((text) => this.send(text));
    view.bindComposerInput((text) => this.checkComposer(text));
    view.bindStop(() => this.stop());
    messageList.bindRetry(() => this.retry());
    view.bindNewChat(() => this.newChat());
    view.bindSelectConversation((id) => this.select(id));
    view.bindDeleteConversation((id) => this.remove(id));
    view.bindUndoDelete(() => this.undoRemove());
    view.bindStorageChange((key) => this.onStorageChange(key));
    view.bindPageHide(() => this.save());
  }

  start() {
    const [latest] = this.store.list();
    this.show(latest ?? this.store.create());
    this.view.focusComposerIfFinePointer();
  }

  // ---- sending ----------------------------------------------------------------------

  send(rawText) {
    if (this.stream) {
      if (rawText.trim() !== "") this.view.showAnswerInProgress(); // the text stays in the box
      return;
    }
    const text = rawText.trim();
    if (text === "") return;
    const limit = this.settings.maxMessageChars;
    const length = countChars(text);
    if (limit > 0 && length > limit) {
      // Refuse, but keep every character in the box.
      this.view.showComposerError(
        `This message is ${NUMBER_FORMAT.format(length)} characters long; the limit is ` +
          `${NUMBER_FORMAT.format(limit)}. Shorten it or split it, then send again.`,
      );
      return;
    }
    this.view.clearComposerError();
    this.view.clearComposer();

    const conversation = this.active;
    const previousLast = conversation.messages.length - 1;
    if (this.isRetryable(conversation, previousLast)) {
      // A new question replaces the offer to retry the failed one.
      this.stopCountdown();
      this.messageList.updateStatus(conversation.messages[previousLast], previousLast);
    }
    conversation.messages.push({ role: ROLE.USER, content: text });
    this.messageList.appendUserMessage(conversation.messages.at(-1), conversation.messages.length - 1);
    this.request();
  }

  async request() {
    const conversation = this.active;
    const { messages, dropped } = trimToLimits(toRequestMessages(conversation.messages), this.settings);
    if (dropped > 0) this.view.showTrimNotice(dropped);
    else this.view.hideTrimNotice();

    const message = { role: ROLE.ASSISTANT, content: "", status: TURN.STREAMING };
    conversation.messages.push(message);
    const index = conversation.messages.length - 1;
    this.save(conversation);
    this.view.renderConversationList(this.store.list(), conversation.id);
    this.messageList.beginAnswer(message, index);
    this.view.setStreaming(true);

    const abort = new AbortController();
    this.stream = { abort, conversation, message, index };
    // `field` is "reasoning" (the model's summary of its thinking, kept but never sent back) or "content".
    const grow = (field) => (text) => {
      message[field] = (message[field] ?? "") + text;
      if (this.active === conversation) this.messageList.updateAnswer(message);
      this.saveSoon(conversation);
    };
    const outcome = await this.streamChat(this.chatUrl, messages, {
      signal: abort.signal,
      deployment: this.view.selectedDeployment(),
      onReasoning: grow("reasoning"),
      onDelta: grow("content"),
    });
    this.finish(outcome);
  }

  finish(outcome) {
    const { conversation, message, index } = this.stream;
    this.stream = null;
    clearTimeout(this.saveTimer);
    this.saveTimer = 0;
    switch (outcome.kind) {
      case OUTCOME.DONE:
        message.status = TURN.DONE;
        message.finishReason = outcome.finishReason;
        message.usage = outcome.usage;
        // The filter's verdict can come after the text was shown: take it all back.
        if (isWithheld(message)) withhold(message);
        break;
      case OUTCOME.ERROR:
        message.status = TURN.ERROR;
        message.error = { code: outcome.code, message: outcome.message };
        if (outcome.retryAfter) message.retryAt = Date.now() + outcome.retryAfter * 1000;
        break;
      case OUTCOME.ABORTED:
        message.status = TURN.STOPPED;
        break;
      default:
        message.status = TURN.LOST;
        message.error = { code: "connection_lost", message: "" };
        break;
    }
    this.save(conversation);
    this.view.setStreaming(false);
    if (this.active !== conversation) return;
    const retryable = this.isRetryable(conversation, index);
    this.messageList.finishAnswer(message, index, { retryable, retryWait: this.retryWait(message) });
    if (retryable && message.retryAt) this.startCountdown(conversation, index);
  }

  stop() {
    if (this.stream) this.stream.abort.abort();
  }

  retry() {
    if (this.stream) return;
    const conversation = this.active;
    const index = conversation.messages.length - 1;
    if (!this.isRetryable(conversation, index)) return;
    if (this.retryWait(conversation.messages[index]) > 0) return;
    this.stopCountdown();
    // The failed turn is replaced, not kept beside the new answer.
    conversation.messages.pop();
    this.messageList.removeMessage(index);
    this.view.focusComposer();
    this.request();
  }

  isRetryable(conversation, index) {
    const message = conversation.messages[index];
    return (
      index === conversation.messages.length - 1 &&
      message?.role === ROLE.ASSISTANT &&
      (message.status === TURN.ERROR || message.status === TURN.LOST)
    );
  }

  retryWait(message) {
    return message.retryAt ? Math.max(0, Math.ceil((message.retryAt - Date.now()) / 1000)) : 0;
  }

  startCountdown(conversation, index) {
    this.stopCountdown();
    const tick = () => {
      const message = conversation.messages[index];
      if (this.active !== conversation || !this.isRetryable(conversation, index)) {
        this.stopCountdown();
        return;
      }
      const wait = this.retryWait(message);
      this.messageList.updateStatus(message, index, { retryable: true, retryWait: wait });
      if (wait === 0) this.stopCountdown();
    };
    this.countdownTimer = setInterval(tick, COUNTDOWN_TICK_MS);
  }

  stopCountdown() {
    clearInterval(this.countdownTimer);
    this.countdownTimer = 0;
  }

  checkComposer(text) {
    const limit = this.settings.maxMessageChars;
    const length = countChars(text.trim());
    this.view.showCharCount(length, limit);
    if (limit === 0 || length <= limit) this.view.clearComposerError();
  }

  // ---- conversations ----------------------------------------------------------------

  /** Draw a conversation in the message list and make it the active one. */
  show(conversation) {
    this.stopCountdown();
    this.active = conversation;
    const last = conversation.messages.length - 1;
    const retryable = this.isRetryable(conversation, last);
    const retryWait = retryable ? this.retryWait(conversation.messages[last]) : 0;
    this.messageList.render(conversation.messages, { retryIndex: retryable ? last : -1, retryWait });
    this.view.renderConversationList(this.store.list(), conversation.id);
    this.view.hideTrimNotice();
    if (retryWait > 0) this.startCountdown(conversation, last);
  }

  select(id) {
    if (this.active?.id === id) return;
    const conversation = this.store.get(id);
    if (!conversation) return;
    this.stop(); // one answer at a time: leaving a conversation stops its answer
    this.dropIfEmpty(this.active);
    this.show(conversation);
  }

  newChat() {
    if (this.active && this.active.messages.length === 0) {
      this.view.focusComposer();
      return;
    }
    this.stop();
    this.show(this.store.create());
    this.view.focusComposer();
  }

  remove(id) {
    if (this.stream?.conversation.id === id) this.stop();
    const removed = this.store.remove(id);
    if (!removed) return;
    this.deleted = removed;
    this.view.showUndo(removed.conversation.title);
    clearTimeout(this.undoTimer);
    this.undoTimer = setTimeout(() => {
      this.deleted = null;
      this.view.hideUndo();
    }, UNDO_DELETE_MS);
    if (this.active?.id === id) {
      const [next] = this.store.list().filter((conversation) => conversation.messages.length > 0);
      this.show(next ?? this.store.create());
    } else {
      this.view.renderConversationList(this.store.list(), this.active.id);
    }
  }

  undoRemove() {
    if (!this.deleted) return;
    clearTimeout(this.undoTimer);
    this.store.restore(this.deleted);
    const { conversation } = this.deleted;
    this.deleted = null;
    this.view.hideUndo();
    if (!this.stream) {
      this.dropIfEmpty(this.active);
      this.show(conversation);
    } else {
      this.view.renderConversationList(this.store.list(), this.active.id);
    }
  }

  dropIfEmpty(conversation) {
    if (conversation && conversation.messages.length === 0) this.store.remove(conversation.id);
  }

  onStorageChange(key) {
    // Another tab changed the conversations. Follow it unless an answer is streaming here.
    if (!this.store.isChangedBy(key) || this.stream) return;
    const activeId = this.active?.id;
    this.store.load(); // keeps this tab's new, still empty conversation
    const [latest] = this.store.list();
    this.show(this.store.get(activeId) ?? latest ?? this.store.create());
  }

  // ---- persistence ------------------------------------------------------------------

  save(conversation = this.stream?.conversation) {
    const ok = conversation ? this.store.touch(conversation) : this.store.save();
    if (!ok) this.view.showStorageWarning();
  }

  // While streaming, save now and then, so a reload keeps most of the answer.
  saveSoon(conversation) {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = 0;
      if (!this.store.save()) this.view.showStorageWarning();
    }, SAVE_WHILE_STREAMING_MS);
  }
}
