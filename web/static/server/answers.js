// The answers being written: at most one per conversation, each in its own conversation
// whether that conversation is on screen or not. No DOM; the store writes each answer into its
// turn, and the asking side (actions/asking.js) is told when it grows and when it ends, and
// decides what to draw.

import { toRequestMessages, trimToLimits } from "../data/conversation.js";
import { OUTCOME } from "./api.js";

export class Answers {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, streamChat: Function, chatUrl: URL,
   *          settings: object, isOnline: () => boolean,
   *          onText: (conversation: object, message: object) => void,
   *          onEnd: (conversation: object, message: object, index: number) => void}} parts
   */
  constructor({ store, streamChat, chatUrl, settings, isOnline, onText, onEnd }) {
    this.store = store;
    this.streamChat = streamChat;
    this.chatUrl = chatUrl;
    this.settings = settings;
    this.isOnline = isOnline;
    this.onText = onText;
    this.onEnd = onEnd;
    this.open = new Map(); // conversation id → {abort, message, index, startedAt}
  }

  isAnswering(conversation) {
    return Boolean(conversation) && this.open.has(conversation.id);
  }

  /** The ids of the conversations with an answer being written. */
  answeringIds() {
    return new Set(this.open.keys());
  }

  any() {
    return this.open.size > 0;
  }

  /** When the open answer of `conversation` began (for its thinking time), or null. */
  startedAt(conversation) {
    return this.open.get(conversation.id)?.startedAt ?? null;
  }

  /**
   * Ask for an answer to the conversation as it stands: its turn is added now and filled as
   * the text arrives. @returns {number} how many of the oldest messages were left out
   */
  start(conversation) {
    const { messages, dropped } = trimToLimits(toRequestMessages(conversation.messages), this.settings);
    const message = this.store.addAnswer(conversation);
    const entry = { abort: new AbortController(), message, startedAt: Date.now() };
    this.open.set(conversation.id, entry);
    this.run(conversation, entry, messages);
    return dropped;
  }

  stop(conversation) {
    this.open.get(conversation?.id)?.abort.abort();
  }

  async run(conversation, entry, messages) {
    const { message } = entry;
    // `field` is "reasoning" (the model's summary of its thinking, kept but never sent back) or "content".
    const grow = (field) => (text) => {
      this.store.growAnswer(message, field, text);
      this.onText(conversation, message);
    };
    let outcome;
    try {
      outcome = await this.streamChat(this.chatUrl, messages, {
        signal: entry.abort.signal,
        deployment: conversation.deployment ?? null,
        preset: conversation.preset ?? null,
        onReasoning: grow("reasoning"),
        onDelta: grow("content"),
      });
    } catch (error) {
      // A fault of this page (drawing the text, say), not of the connection: it is reported, and
      // the answer still ends, so the conversation is not left answering for ever.
      globalThis.reportError?.(error);
      entry.abort.abort();
      outcome = { kind: OUTCOME.LOST, message: "" };
    }
    this.open.delete(conversation.id);
    this.store.settleAnswer(message, outcome, { online: this.isOnline() });
    // The turn may have moved (or gone, with its conversation): say where it is now.
    this.onEnd(conversation, message, conversation.messages.indexOf(message));
  }
}
