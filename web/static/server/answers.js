// The answers being written: at most one per conversation, each in its own conversation
// whether that conversation is on screen or not. No DOM; the store writes each answer into its
// turn, and the asking side (actions/asking.js) is told when it grows and when it ends, and
// decides what to draw.

import { ROLE, toRequestMessages, trimToLimits } from "../data/conversation.js";
import { OUTCOME, followAnswer } from "./api.js";
import { resumeAnswer } from "./resume.js";

/** The reason a stored turn was cut off by a closed page (data/stored.js): such a turn may be resumed. */
const INTERRUPTED = "interrupted";
// How long a Stop waits for the server to name the answer before it closes the connection anyway.
const UNNAMED_STOP_WAIT_MS = 2000;

export class Answers {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, streamChat: Function, chatUrl: URL,
   *          settings: object, isOnline: () => boolean,
   *          onText: (conversation: object, message: object) => void,
   *          onEnd: (conversation: object, message: object, index: number) => void,
   *          onReconnecting?: (conversation: object, reconnecting: boolean) => void,
   *          onKept?: (conversation: object) => void,
   *          follow?: Function, beacon?: (url: URL, body: URLSearchParams) => boolean,
   *          fetchImpl?: typeof fetch}} parts
   *   Each answer is asked resumable: a broken connection is followed again from the last event
   *   (server/resume.js), a reload finds it (resumeInterrupted), Stop and leaving the page tell the server.
   *   `onKept` is told once the server has named the answer (its id and secret are in the turn).
   */
  constructor({ store, streamChat, chatUrl, settings, isOnline, onText, onEnd, onReconnecting = () => {}, onKept = () => {}, follow = followAnswer, beacon, fetchImpl }) {
    this.store = store;
    this.streamChat = streamChat;
    this.chatUrl = chatUrl;
    this.answersUrl = new URL("answers/", chatUrl);
    this.follow = follow;
    this.beacon = beacon ?? ((url, body) => globalThis.navigator?.sendBeacon?.(url, body) ?? false);
    this.fetchImpl = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.onReconnecting = onReconnecting;
    this.onKept = onKept;
    this.wakers = new Set(); // resolvers of the pauses between reconnects: called once the network is back
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

  /**
   * After a reload: the answers the closed page left being written, followed again where the
   * stored text ends (the server keeps them for its resume window). Before the page is drawn.
   * The same for the answers another tab of this browser is writing, read from storage (at start,
   * or on its `storage` event): stored, they look the same (data/stored.js), and this tab follows
   * them from the last event it has, without asking the model again.
   */
  resumeInterrupted(conversations) {
    for (const conversation of conversations) {
      const message = conversation.messages.at(-1);
      if (message?.role !== ROLE.ASSISTANT || !message.resumable || message.error?.code !== INTERRUPTED) continue;
      if (this.open.has(conversation.id)) continue;
      this.store.reopenAnswer(message);
      const entry = { abort: new AbortController(), message, startedAt: Date.now() };
      this.open.set(conversation.id, entry);
      this.run(conversation, entry, null);
    }
  }

  stop(conversation) {
    const entry = this.open.get(conversation?.id);
    if (!entry) return;
    entry.abort.abort();
    if (entry.message.resumable) this.sendStop(entry.message.resumable);
    // Not named yet: `run` keeps the connection until the server names the answer, then stops it.
  }

  /** The fetch's abort closes this connection; the answer itself lives on the server until told. */
  sendStop(resumable) {
    this.fetchImpl(this.stopUrl(resumable), {
      method: "POST",
      headers: { "X-Answer-Secret": resumable.secret },
      keepalive: true,
    }).catch(() => {});
  }

  /** The page is going (closed, or reloading: `pagehide` cannot tell): the server ends its answers unless it comes back. */
  leaving() {
    for (const { message } of this.open.values()) {
      if (message.resumable) {
        this.beacon(this.stopUrl(message.resumable), new URLSearchParams({ secret: message.resumable.secret, leaving: "1" }));
      }
    }
  }

  /** The browser is offline: the answers' connections are dropped, to be followed again once it is back. */
  dropConnections() {
    for (const entry of this.open.values()) {
      if (entry.message.resumable) entry.connection?.abort();
    }
  }

  /** The network is back: reconnect now rather than at the end of the pause. */
  reconnectNow() {
    for (const wake of [...this.wakers]) wake();
  }

  stopUrl(resumable) {
    return new URL(`${encodeURIComponent(resumable.id)}/stop`, this.answersUrl);
  }

  /** `messages`: ask for it; null: follow the resumable answer already begun. */
  async run(conversation, entry, messages) {
    const { message } = entry;
    let reconnecting = false;
    const setReconnecting = (value) => {
      if (value === reconnecting) return;
      reconnecting = value;
      this.onReconnecting(conversation, value);
    };
    // `field` is "reasoning" (the model's summary of its thinking, kept but never sent back) or "content".
    // An event's number says whether the page has it already (a reconnect starts after the last one kept).
    const grow = (field) => (text, id) => {
      if (signal.aborted) return; // stopped: whatever still arrives is not shown
      const number = Number(id);
      if (message.resumable && id) {
        if (number <= message.resumable.last) return;
        this.store.growAnswer(message, field, text, number);
      } else {
        this.store.growAnswer(message, field, text);
      }
      setReconnecting(false);
      this.onText(conversation, message);
    };
    const signal = entry.abort.signal; // Stop
    // One connection at a time, dropped when the browser goes offline (dropConnections): a stream
    // over a network that is gone can hang for minutes before it fails.
    const connect = () => {
      entry.connection = new AbortController();
      if (signal.aborted) entry.connection.abort();
      return entry.connection.signal;
    };
    const broken = (outcome) =>
      outcome.kind === OUTCOME.ABORTED && !signal.aborted ? { kind: OUTCOME.LOST } : outcome;
    // A Stop before the server has named the answer (its first event) would leave the answer running
    // on the server for its resume window: the page shows it stopped at once, and the connection stays
    // until the name comes (a moment, UNNAMED_STOP_WAIT_MS at most), to send the Stop, then closes.
    let naming = messages !== null;
    let stoppedUnnamed = () => {};
    const unnamed = new Promise((resolve) => {
      stoppedUnnamed = resolve;
    });
    signal.addEventListener("abort", () => {
      if (!naming || message.resumable) {
        entry.connection?.abort();
        return;
      }
      const connection = entry.connection;
      setTimeout(() => connection?.abort(), UNNAMED_STOP_WAIT_MS);
      stoppedUnnamed({ kind: OUTCOME.ABORTED });
    });
    const followAgain = async () =>
      broken(
        await this.follow(new URL(encodeURIComponent(message.resumable.id), this.answersUrl), {
          secret: message.resumable.secret,
          after: message.resumable.last,
          signal: connect(),
          onReasoning: grow("reasoning"),
          onDelta: grow("content"),
          fetchImpl: this.fetchImpl,
        }),
      );
    const wake = (resolve) => {
      this.wakers.add(resolve);
      return () => this.wakers.delete(resolve);
    };
    let outcome;
    try {
      if (messages !== null) {
        const asked = this.streamChat(this.chatUrl, messages, {
          signal: connect(),
          deployment: conversation.deployment ?? null,
          preset: conversation.preset ?? null,
          onReasoning: grow("reasoning"),
          onDelta: grow("content"),
          onAnswer: (answer) => {
            naming = false;
            if (signal.aborted) {
              this.sendStop(answer); // stopped before its name came: the page has settled it already
              entry.connection?.abort();
              return;
            }
            this.store.keepResumable(message, answer);
            this.onKept(conversation);
          },
        });
        outcome = await Promise.race([asked, unnamed]);
        naming = false;
        if (message.resumable) outcome = broken(outcome);
      } else {
        outcome = await followAgain(); // at once: the answer is being written now (another tab, a reload)
      }
      if (outcome.kind === OUTCOME.LOST && message.resumable) {
        outcome = await resumeAnswer(followAgain, {
          signal,
          wake,
          isOnline: this.isOnline,
          onReconnecting: setReconnecting,
        });
      }
      if (outcome.kind === OUTCOME.ERROR && outcome.code === "answer_not_found") {
        outcome = { kind: OUTCOME.LOST, message: "The connection was lost, and the server no longer has the answer." };
      }
    } catch (error) {
      // A fault of this page (drawing the text, say), not of the connection: it is reported, and
      // the answer still ends, so the conversation is not left answering for ever.
      globalThis.reportError?.(error);
      entry.abort.abort();
      outcome = { kind: OUTCOME.LOST, message: "" };
    }
    this.open.delete(conversation.id);
    this.store.forgetResumable(message);
    this.store.settleAnswer(message, outcome, { online: this.isOnline() });
    // The turn may have moved (or gone, with its conversation): say where it is now.
    this.onEnd(conversation, message, conversation.messages.indexOf(message));
  }
}
