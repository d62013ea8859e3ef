// The conversation list: which conversation is open, a new chat, switching, delete and Undo,
// rename, the model a conversation is answered by, and following what another tab changed.

import { isRetryable, retryWait } from "../data/conversation.js";

export const UNDO_DELETE_MS = 10000;

export class Conversations {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, view: import("../page/view.js").View,
   *          topbar: import("../page/topbar.js").Topbar,
   *          conversationList: import("../page/conversation-list.js").ConversationList,
   *          messageList: import("../messages/message-list.js").MessageList,
   *          settings: object, answers: import("../server/answers.js").Answers,
   *          saving: import("./saving.js").Saving, countdown: import("./retry-countdown.js").RetryCountdown,
   *          undoDeleteMs?: number}} parts
   */
  constructor({ store, view, topbar, conversationList, messageList, settings, answers, saving, countdown, undoDeleteMs = UNDO_DELETE_MS }) {
    this.store = store;
    this.view = view;
    this.topbar = topbar;
    this.conversationList = conversationList;
    this.messageList = messageList;
    this.settings = settings;
    this.answers = answers;
    this.saving = saving;
    this.countdown = countdown;
    this.undoDeleteMs = undoDeleteMs; // how long Undo is offered after a delete
    this.active = null;
    this.deleted = null; // {removed, shownInstead}: what Undo brings back, and what was shown in its place
    this.undoTimer = 0;

    view.bindNewChat(() => this.newChat());
    view.bindUndoDelete(() => this.undoRemove());
    view.bindStorageChange((key) => this.onStorageChange(key));
    view.bindPageHide(() => this.saving.save());
    conversationList.bindSelect((id) => this.select(id));
    conversationList.bindDelete((id) => this.remove(id));
    conversationList.bindStopAnswer((id) => this.answers.stop(this.store.get(id)));
    topbar.bindRename((title) => this.rename(title));
    topbar.bindDeploymentChange((deployment) => this.pickDeployment(deployment));
  }

  start() {
    this.store.checkWritable(); // the stored conversations are shown whether or not there is room for more
    this.saving.report();
    this.answers.resumeInterrupted(this.store.list()); // answers a reload cut off, followed again
    const [latest] = this.store.list();
    this.show(latest ?? this.newConversation());
    this.view.focusComposerIfFinePointer();
  }

  /** A new, empty conversation, answered by the model picked last. */
  newConversation() {
    return this.store.create({ deployment: this.topbar.selectedDeployment(), preset: this.settings?.preset });
  }

  /** Draw a conversation (with its answer, if one is being written) and make it the active one. */
  show(conversation) {
    this.countdown.stop();
    this.active = conversation;
    const last = conversation.messages.length - 1;
    const retryable = isRetryable(conversation, last);
    const wait = retryable ? retryWait(conversation.messages[last]) : 0;
    this.messageList.render(conversation.messages, {
      retryIndex: retryable ? last : -1,
      retryWait: wait,
      streamingSince: this.answers.startedAt(conversation),
    });
    this.view.setStreaming(this.answers.isAnswering(conversation));
    this.renderList();
    this.topbar.showConversation(conversation);
    this.topbar.showDeployment(conversation);
    this.view.hideTrimNotice();
    if (wait > 0) this.countdown.start(conversation, last);
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
    this.saving.report(); // deleting may have made room
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
    this.saving.report();
    this.topbar.showConversation(this.active);
    this.renderList();
  }

  /** The model picked for the open conversation: kept with it (a new chat starts with it too). */
  pickDeployment(deployment) {
    this.store.setDeployment(this.active, deployment);
    if (this.active.messages.length > 0) this.saving.save();
  }

  onStorageChange(key) {
    // Another tab changed the conversations. Follow it unless an answer is being written here.
    if (!this.store.isChangedBy(key) || this.answers.any()) return;
    const activeId = this.active?.id;
    this.store.load(); // keeps this tab's new, still empty conversation
    this.answers.resumeInterrupted(this.store.list()); // an answer the other tab is writing: followed here too
    const [latest] = this.store.list();
    this.show(this.store.get(activeId) ?? latest ?? this.newConversation());
  }
}
