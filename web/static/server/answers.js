// The answers being written: at most one per conversation, each in its own conversation
// whether that conversation is on screen or not. No DOM; the controller is told when an
// answer grows and when it ends, and decides what to draw.

import { OUTCOME } from "./api.js";
import { ROLE, TURN, isWithheld, toRequestMessages, trimToLimits, withhold } from "./conversation.js";

/** Why a question never reached the server; the page answers each differently. */
export const UNREACHABLE = Object.freeze({
  OFFLINE: "offline", // the browser knows it has no network: sent again once it has
  SERVER: "unreachable", // the network is there but the server did not answer
});

const UNREACHABLE_TEXT = Object.freeze({
  [UNREACHABLE.OFFLINE]: "You are offline. The question is sent again when the connection is back.",
  [UNREACHABLE.SERVER]: "Could not reach the server. It may be restarting, or the network is down. Try again in a moment.",
});

/** Write an answer's outcome into its turn: its status, and why it failed. */
export function settle(message, outcome, { online = true } = {}) {
  switch (outcome.kind) {
    case OUTCOME.DONE:
      message.status = TURN.DONE;
      message.finishReason = outcome.finishReason;
      message.usage = outcome.usage;
      // The filter's verdict can come after the text was shown: take it all back.
      if (isWithheld(message)) withhold(message);
      break;
    case OUTCOME.ERROR:
      // Refused before the stream began: the question itself was the problem.
      message.status = outcome.code === "content_filter" && outcome.status === 400 ? TURN.REFUSED : TURN.ERROR;
      message.error = { code: outcome.code, message: outcome.message };
      if (outcome.retryAfter) message.retryAt = Date.now() + outcome.retryAfter * 1000;
      break;
    case OUTCOME.ABORTED:
      message.status = TURN.STOPPED;
      break;
    case OUTCOME.UNREACHABLE: {
      const code = online ? UNREACHABLE.SERVER : UNREACHABLE.OFFLINE;
      message.status = TURN.ERROR;
      message.error = { code, message: UNREACHABLE_TEXT[code] };
      break;
    }
    default:
      message.status = TURN.LOST;
      message.error = { code: "connection_lost", message: outcome.message ?? "" };
      break;
  }
}

export class Answers {
  /**
   * @param {{streamChat: Function, chatUrl: URL, settings: object, isOnline: () => boolean,
   *          onText: (conversation: object, message: object) => void,
   *          onEnd: (conversation: object, message: object, index: number) => void}} parts
   */
  constructor({ streamChat, chatUrl, settings, isOnline, onText, onEnd }) {
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
    const message = { role: ROLE.ASSISTANT, content: "", status: TURN.STREAMING };
    conversation.messages.push(message);
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
      message[field] = (message[field] ?? "") + text;
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
    settle(message, outcome, { online: this.isOnline() });
    // The turn may have moved (or gone, with its conversation): say where it is now.
    this.onEnd(conversation, message, conversation.messages.indexOf(message));
  }
}
