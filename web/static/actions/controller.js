// What happens when the person acts: send, stop, retry, regenerate, edit; switch, delete,
// rename, export, import. The answers being written (answers.js) go on in their own
// conversations when another one is shown; the store keeps the conversations, the message
// list draws the open one, the conversation list, the top bar and the view the rest.

import { Answers, UNREACHABLE } from "./answers.js";
import { ROLE, TURN, countChars } from "./conversation.js";
import { ImportError, jsonExport, markdownExport, readExport } from "./history.js";
import { isEmptyStop } from "./message-actions.js";

const SAVE_WHILE_STREAMING_MS = 1000;
const UNDO_DELETE_MS = 10000;
const COUNTDOWN_TICK_MS = 1000;
const NUMBER_FORMAT = new Intl.NumberFormat();

const EXPORTS = Object.freeze({ json: jsonExport, markdown: markdownExport });

export class Controller {
  /**
   * @param {{store: import("./store.js").ConversationStore, view: import("./view.js").View,
   *          topbar: import("./topbar.js").Topbar,
   *          conversationList: import("./conversation-list.js").ConversationList,
   *          messageList: import("./message-list.js").MessageList,
   *          chatUrl: URL, settings: object, streamChat: Function,
   *          contextChip?: import("./context-chip.js").ContextChip, undoDeleteMs?: number}} parts
   */
  constructor({ store, view, topbar, conversationList, messageList, chatUrl, settings, streamChat, contextChip = null, undoDeleteMs = UNDO_DELETE_MS }) {
    this.store = store;
    this.view = view;
    this.topbar = topbar;
    this.conversationList = conversationList;
    this.messageList = messageList;
    this.settings = settings;
    this.answers = new Answers({
      streamChat,
      chatUrl,
      settings,
      isOnline: () => view.isOnline(),
      onText: (conversation, message) => this.onAnswerText(conversation, message),
      onEnd: (conversation, message, index) => this.onAnswerEnd(conversation, message, index),
    });
    this.active = null;
    this.saveTimer = 0;
    this.countdownTimer = 0;
    this.deleted = null; // {removed, shownInstead}: what Undo brings back, and what was shown in its place
    this.undoTimer = 0;
    this.undoDeleteMs = undoDeleteMs; // how long Undo is offered after a delete
    this.context = null; // {host, text}: a framing host's context, sent with each question until removed
    this.observers = []; // a framing host hears of answers (host-bridge.js)

    view.bindSend((text) => this.send(text));
    view.bindComposerInput((text) => this.checkComposer(text));
    view.bindStop(() => this.stop());
    view.bindNewChat(() => this.newChat());
    view.bindUndoDelete(() => this.undoRemove());
    view.bindStorageChange((key) => this.onStorageChange(key));
    view.bindPageHide(() => this.save());
    view.bindOnline(() => this.retryUnsent());
    view.bindStorageExport(() => this.exportAll("json"));
    messageList.bindRetry(() => this.retry(this.active));
    messageList.bindRegenerate((index) => this.regenerate(index));
    messageList.bindEdit((index, text) => this.edit(index, text));
    messageList.bindRemove((index) => this.removeEmptyTurn(index));
    conversationList.bindSelect((id) => this.select(id));
    conversationList.bindDelete((id) => this.remove(id));
    conversationList.bindStopAnswer((id) => this.answers.stop(this.store.get(id)));
    conversationList.bindExportAll((format) => this.exportAll(format));
    conversationList.bindImport((text) => this.importFile(text));
    topbar.bindRename((title) => this.rename(title));
    topbar.bindExport((format) => this.view.download(EXPORTS[format]([this.active])));
    topbar.bindDeploymentChange((deployment) => this.pickDeployment(deployment));
    contextChip?.bindRemove(() => {
      this.setContext(null);
      this.notify("contextRemoved");
      this.view.focusComposer(); // the focused button is gone
    });
    this.contextChip = contextChip;
  }

  start() {
    this.store.checkWritable(); // the stored conversations are shown whether or not there is room for more
    this.reportStorage();
    const [latest] = this.store.list();
    this.show(latest ?? this.newConversation());
    this.view.focusComposerIfFinePointer();
  }

  // ---- asking -----------------------------------------------------------------------

  /** The question as it will be sent, or null (and `showError` told why) when it is too long or empty. */
  checkedQuestion(rawText, showError) {
    const text = rawText.trim();
    if (text === "") return null;
    const limit = this.settings.maxMessageChars;
    const length = countChars(text);
    if (limit > 0 && length > limit) {
      showError(
        `This message is ${NUMBER_FORMAT.format(length)} characters long; the limit is ` +
          `${NUMBER_FORMAT.format(limit)}. Shorten it or split it, then send again.`,
      );
      return null;
    }
    return text;
  }

  send(rawText) {
    const conversation = this.active;
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
    if (this.isRetryable(conversation, previousLast)) {
      // A new question replaces the offer to retry the failed one.
      this.stopCountdown();
      this.messageList.updateStatus(conversation.messages[previousLast], previousLast);
    } else if (conversation.messages[previousLast] && isEmptyStop(conversation.messages[previousLast])) {
      // An answer stopped before its first word would stay between two questions, saying nothing.
      conversation.messages.pop();
      this.messageList.removeMessage(previousLast);
    }
    conversation.messages.push({ role: ROLE.USER, content: text, ...(this.context && { context: { ...this.context } }) });
    this.messageList.appendUserMessage(conversation.messages.at(-1), conversation.messages.length - 1);
    this.ask(conversation);
  }

  /** Ask for an answer to the conversation as it stands; drawn while that conversation is shown. */
  ask(conversation) {
    const deployment = this.topbar.deploymentFor(conversation);
    if (deployment) conversation.deployment = deployment;
    const dropped = this.answers.start(conversation);
    this.notify("answerStarted");
    this.save(conversation);
    this.renderList();
    if (this.active !== conversation) return;
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

  /** @param {{answerStarted?: Function, answerFinished?: Function, contextRemoved?: Function}} observer */
  observe(observer) {
    this.observers.push(observer);
  }

  notify(event, ...args) {
    for (const observer of this.observers) observer[event]?.(...args);
  }

  onAnswerText(conversation, message) {
    if (this.active === conversation) this.messageList.updateAnswer(message);
    this.saveSoon();
  }

  onAnswerEnd(conversation, message, index) {
    this.notify("answerFinished", message);
    this.save(conversation);
    this.renderList();
    if (this.active !== conversation || index === -1) return;
    this.view.setStreaming(false);
    const retryable = this.isRetryable(conversation, index);
    this.messageList.finishAnswer(message, index, { retryable, retryWait: this.retryWait(message) });
    if (retryable && message.retryAt) this.startCountdown(conversation, index);
  }

  stop() {
    this.answers.stop(this.active);
  }

  /** Ask again in place of the failed last turn of `conversation`. */
  retry(conversation) {
    if (!conversation || this.answers.isAnswering(conversation)) return;
    const index = conversation.messages.length - 1;
    if (!this.isRetryable(conversation, index)) return;
    if (this.retryWait(conversation.messages[index]) > 0) return;
    // The failed turn is replaced, not kept beside the new answer.
    conversation.messages.pop();
    if (this.active === conversation) {
      this.stopCountdown();
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
    const conversation = this.active;
    const message = conversation.messages[index];
    const last = index === conversation.messages.length - 1;
    if (this.answers.isAnswering(conversation) || !last || message?.role !== ROLE.ASSISTANT) return;
    conversation.messages.pop();
    this.messageList.removeMessage(index);
    this.view.focusComposer();
    this.ask(conversation);
  }

  /** Send an edited question in place of the one at `index`; the turns after it go. */
  edit(index, rawText) {
    const conversation = this.active;
    if (this.answers.isAnswering(conversation) || conversation.messages[index]?.role !== ROLE.USER) return;
    const text = this.checkedQuestion(rawText, (error) => this.messageList.showEditError(index, error));
    if (text === null) return;
    this.stopCountdown();
    const { context } = conversation.messages[index]; // asked with a host's context, still asked with it
    conversation.messages.splice(index, Infinity, { role: ROLE.USER, content: text, ...(context && { context }) });
    this.messageList.render(conversation.messages);
    this.view.focusComposer();
    this.ask(conversation);
  }

  /** An answer stopped before its first word says nothing: the person may take it away. */
  removeEmptyTurn(index) {
    const conversation = this.active;
    const message = conversation.messages[index];
    if (index !== conversation.messages.length - 1 || !message || !isEmptyStop(message)) return;
    conversation.messages.pop();
    this.messageList.removeMessage(index);
    this.save(conversation);
    this.view.focusComposer();
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

  /** A new, empty conversation, answered by the model picked last. */
  newConversation() {
    const conversation = this.store.create();
    const deployment = this.topbar.selectedDeployment();
    if (deployment) conversation.deployment = deployment;
    if (this.settings?.preset) conversation.preset = this.settings.preset; // kept: later answers use it too
    return conversation;
  }

  /** Draw a conversation (with its answer, if one is being written) and make it the active one. */
  show(conversation) {
    this.stopCountdown();
    this.active = conversation;
    const last = conversation.messages.length - 1;
    const retryable = this.isRetryable(conversation, last);
    const retryWait = retryable ? this.retryWait(conversation.messages[last]) : 0;
    this.messageList.render(conversation.messages, {
      retryIndex: retryable ? last : -1,
      retryWait,
      streamingSince: this.answers.startedAt(conversation),
    });
    this.view.setStreaming(this.answers.isAnswering(conversation));
    this.renderList();
    this.topbar.showConversation(conversation);
    this.topbar.showDeployment(conversation);
    this.view.hideTrimNotice();
    if (retryWait > 0) this.startCountdown(conversation, last);
  }

  renderList() {
    this.conversationList.render(this.store.list(), this.active?.id ?? null, this.answers.answeringIds());
  }

  select(id) {
    this.view.setSidebarOpen(false);
    if (this.active?.id === id) return;
    const conversation = this.store.get(id);
    if (!conversation) return;
    this.dropIfEmpty(this.active); // an answer being written there goes on
    this.show(conversation);
  }

  newChat() {
    if (this.active && this.active.messages.length === 0) {
      this.view.focusComposer();
      return;
    }
    this.show(this.newConversation());
    this.view.focusComposer();
  }

  remove(id) {
    const conversation = this.store.get(id);
    this.answers.stop(conversation); // deleted, it has no one to answer
    const removed = this.store.remove(id);
    if (!removed) return;
    this.view.showUndo(removed.conversation.title);
    clearTimeout(this.undoTimer);
    this.undoTimer = setTimeout(() => {
      this.deleted = null;
      this.view.hideUndo();
    }, this.undoDeleteMs);
    let shownInstead = null;
    if (this.active?.id === id) {
      const [next] = this.store.list().filter((other) => other.messages.length > 0);
      shownInstead = next ?? this.newConversation();
      this.show(shownInstead);
    } else {
      this.renderList();
    }
    this.deleted = { removed, shownInstead };
    this.reportStorage(); // deleting may have made room
  }

  /** Bring the deleted conversation back where it was; it opens again only if it was open. */
  undoRemove() {
    if (!this.deleted) return;
    clearTimeout(this.undoTimer);
    const { removed, shownInstead } = this.deleted;
    this.deleted = null;
    this.store.restore(removed);
    this.view.hideUndo();
    if (shownInstead && this.active === shownInstead && !this.answers.isAnswering(shownInstead)) {
      this.dropIfEmpty(shownInstead);
      this.show(removed.conversation);
    } else {
      this.renderList();
    }
    // The Undo button is gone: the keyboard goes on from what it brought back.
    this.conversationList.focusConversation(removed.conversation.id);
  }

  dropIfEmpty(conversation) {
    if (conversation && conversation.messages.length === 0) this.store.remove(conversation.id);
  }

  rename(title) {
    this.store.rename(this.active, title);
    this.reportStorage();
    this.topbar.showConversation(this.active);
    this.renderList();
  }

  /** The model picked for the open conversation: kept with it (a new chat starts with it too). */
  pickDeployment(deployment) {
    this.active.deployment = deployment;
    if (this.active.messages.length > 0) this.save();
  }

  exportAll(format) {
    const started = this.store.list().filter((conversation) => conversation.messages.length > 0);
    if (started.length > 0) this.view.download(EXPORTS[format](started));
    else this.conversationList.showStatus("There is no conversation to export yet.");
  }

  importFile(text) {
    let conversations;
    try {
      conversations = readExport(text);
    } catch (error) {
      if (!(error instanceof ImportError)) throw error;
      this.conversationList.showStatus(error.message);
      return;
    }
    const { added, present } = this.store.add(conversations);
    this.reportStorage();
    this.renderList();
    const count = (n) => (n === 1 ? "1 conversation" : `${NUMBER_FORMAT.format(n)} conversations`);
    const already = present === 0 ? "" : ` ${count(present)} ${present === 1 ? "was" : "were"} already here.`;
    this.conversationList.showStatus(`Imported ${count(added)}.${already}`);
  }

  onStorageChange(key) {
    // Another tab changed the conversations. Follow it unless an answer is being written here.
    if (!this.store.isChangedBy(key) || this.answers.any()) return;
    const activeId = this.active?.id;
    this.store.load(); // keeps this tab's new, still empty conversation
    const [latest] = this.store.list();
    this.show(this.store.get(activeId) ?? latest ?? this.newConversation());
  }

  // ---- persistence ------------------------------------------------------------------

  /** Record a change to `conversation` (none: save all), and say if the browser refused it. */
  save(conversation = null) {
    if (conversation) this.store.touch(conversation);
    else this.store.save();
    this.reportStorage();
  }

  reportStorage() {
    this.view.showStorageWarning(this.store.problem);
  }

  // While answers are being written, save now and then, so a reload keeps most of them.
  saveSoon() {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = 0;
      this.save();
    }, SAVE_WHILE_STREAMING_MS);
  }
}
