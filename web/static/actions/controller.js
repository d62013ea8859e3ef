// What happens when the person acts, in three parts by job: asking (asking.js), the
// conversation list (conversations.js), export and import (transfer.js). The store keeps the
// conversations and is the only one to change them; the message list draws the open one, the
// conversation list, the top bar and the view the rest. The controller builds the parts, and is
// what the rest of the page (app.js, a framing host) talks to; `events` tells it what happened.

import { Answers } from "../server/answers.js";
import { Asking } from "./asking.js";
import { Conversations } from "./conversations.js";
import { RetryCountdown } from "./retry-countdown.js";
import { Saving } from "./saving.js";
import { Transfer } from "./transfer.js";

export class Controller {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, view: import("../page/view.js").View,
   *          topbar: import("../page/topbar.js").Topbar,
   *          conversationList: import("../page/conversation-list.js").ConversationList,
   *          messageList: import("../messages/message-list.js").MessageList,
   *          chatUrl: URL, settings: object, streamChat: Function,
   *          contextChip?: import("../page/context-chip.js").ContextChip,
   *          delays?: {undoDeleteMs?: number, saveWhileStreamingMs?: number}}} parts
   *   `delays`: how long Undo is offered, and how often a streaming answer is saved (shorter in tests)
   */
  constructor({ store, view, topbar, conversationList, messageList, chatUrl, settings, streamChat, contextChip = null, delays = {} }) {
    this.store = store;
    this.view = view;
    /** PAGE_EVENT (constants.js): an answer started or ended, the host's context was removed. */
    this.events = new EventTarget();
    const saving = new Saving({ store, view, whileStreamingMs: delays.saveWhileStreamingMs });
    const answers = new Answers({
      store,
      streamChat,
      chatUrl,
      settings,
      isOnline: () => view.isOnline(),
      onText: (conversation, message) => this.asking.onAnswerText(conversation, message),
      onEnd: (conversation, message, index) => this.asking.onAnswerEnd(conversation, message, index),
      // Saved at once: another tab of this browser learns of the answer from the storage event.
      onKept: (conversation) => saving.save(conversation),
      onReconnecting: (conversation, reconnecting) => {
        if (this.active === conversation || !reconnecting) view.showReconnecting(reconnecting);
      },
    });
    view.bindPageHide(() => answers.leaving());
    view.bindOnline(() => answers.reconnectNow());
    view.bindOffline(() => answers.dropConnections());
    const countdown = new RetryCountdown({ messageList, isShown: (conversation) => this.active === conversation });
    const parts = { store, view, topbar, conversationList, messageList, settings, answers, saving, countdown };
    this.conversations = new Conversations({ ...parts, undoDeleteMs: delays.undoDeleteMs });
    this.asking = new Asking({ ...parts, conversations: this.conversations, events: this.events, contextChip });
    this.transfer = new Transfer({ ...parts, conversations: this.conversations });
  }

  start() {
    this.conversations.start();
  }

  /** The open conversation. */
  get active() {
    return this.conversations.active;
  }

  // ---- what a framing host may ask (host/host-bridge.js) --------------------------------

  /** A framing host's context for the next questions, or null: none. */
  setContext(context) {
    this.asking.setContext(context);
  }

  /** A framing host's question (or a suggested prompt): in the box as if typed, and sent if `send`. */
  prefill(text, { send = false } = {}) {
    this.asking.prefill(text, { send });
  }

  newChat() {
    this.conversations.newChat();
  }

  focusComposer() {
    this.view.focusComposer();
  }
}
