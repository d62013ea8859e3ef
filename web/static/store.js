// Conversations kept in localStorage, so they survive a reload. No DOM; the storage is
// passed in (window.localStorage in the page, a stand-in in tests).

import { TURN, isWithheld, titleFor, withhold } from "./conversation.js";

const STORAGE_KEY = "chat.conversations.v1";

/** A storage that keeps nothing, for browsers where localStorage is unavailable. */
class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
  removeItem(key) {
    this.items.delete(key);
  }
}

function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Conversations, newest first, persisted as one JSON document. */
export class ConversationStore {
  /** @param {Storage|null} storage */
  constructor(storage) {
    this.storage = storage ?? new MemoryStorage();
    this.conversations = [];
    this.load();
  }

  /**
   * Re-read from storage (another tab may have written). A conversation with no message
   * is not stored yet: it is this tab's own and stays, first.
   */
  load() {
    const unstored = this.conversations.filter((conversation) => conversation.messages.length === 0);
    let parsed = null;
    try {
      parsed = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? "null");
    } catch {
      parsed = null;
    }
    const list = Array.isArray(parsed?.conversations) ? parsed.conversations : [];
    this.conversations = list.filter(isConversation).map(reviveConversation);
    this.sort();
    this.conversations.unshift(...unstored);
  }

  /** Whether a `storage` event for `key` may have changed the conversations (null: storage cleared). */
  isChangedBy(key) {
    return key === STORAGE_KEY || key === null;
  }

  /** @returns {boolean} false when the browser refused to store (quota, privacy mode) */
  save() {
    const saved = this.conversations.filter((conversation) => conversation.messages.length > 0);
    try {
      this.storage.setItem(STORAGE_KEY, JSON.stringify({ version: 1, conversations: saved }));
      return true;
    } catch {
      return false;
    }
  }

  list() {
    return this.conversations;
  }

  get(id) {
    return this.conversations.find((conversation) => conversation.id === id) ?? null;
  }

  /** A new, empty conversation; it is stored once it has a message. */
  create() {
    const now = Date.now();
    const conversation = { id: newId(), title: titleFor([]), createdAt: now, updatedAt: now, messages: [] };
    this.conversations.unshift(conversation);
    return conversation;
  }

  /** Record a change to a conversation: refresh its title and order, then save. */
  touch(conversation) {
    conversation.title = titleFor(conversation.messages);
    conversation.updatedAt = Date.now();
    this.sort();
    return this.save();
  }

  /** @returns {{conversation: object, index: number}|null} what `restore` needs to undo */
  remove(id) {
    const index = this.conversations.findIndex((conversation) => conversation.id === id);
    if (index === -1) return null;
    const [conversation] = this.conversations.splice(index, 1);
    this.save();
    return { conversation, index };
  }

  restore({ conversation, index }) {
    if (this.get(conversation.id)) return;
    this.conversations.splice(Math.min(index, this.conversations.length), 0, conversation);
    this.sort();
    this.save();
  }

  sort() {
    this.conversations.sort((a, b) => b.updatedAt - a.updatedAt);
  }
}

function isConversation(value) {
  return (
    value &&
    typeof value.id === "string" &&
    Array.isArray(value.messages) &&
    value.messages.every((m) => m && typeof m.role === "string" && typeof m.content === "string")
  );
}

// A page closed while an answer streamed left a turn marked as streaming: it was cut off.
// An answer flagged by the content filter before its text was dropped (stored by an older
// page) loses it now.
function reviveConversation(conversation) {
  for (const message of conversation.messages) {
    if (message.status === TURN.STREAMING) message.status = TURN.LOST;
    if (typeof message.reasoning !== "string") delete message.reasoning;
    if (isWithheld(message)) withhold(message);
  }
  return {
    ...conversation,
    title: typeof conversation.title === "string" ? conversation.title : titleFor(conversation.messages),
    createdAt: Number(conversation.createdAt) || 0,
    updatedAt: Number(conversation.updatedAt) || 0,
  };
}

export { STORAGE_KEY };
