// Conversations kept in localStorage, so they survive a reload. No DOM; the storage is
// passed in (window.localStorage in the page, a stand-in in tests).

import { ROLE, TURN, isWithheld, titleFor, withhold } from "./conversation.js";

const STORAGE_KEY = "chat.conversations.v1";
const PROBE_KEY = "chat.probe";

/** Why conversations are not being saved. */
export const STORAGE_PROBLEM = Object.freeze({
  FULL: "full", // the browser's storage quota is used up: what is stored can still be read
  BLOCKED: "blocked", // no storage at all (privacy settings): nothing lasts beyond the tab
});

const ROLES = new Set(Object.values(ROLE));
const STATUSES = new Set(Object.values(TURN));

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
    this.problem = storage ? null : STORAGE_PROBLEM.BLOCKED; // a STORAGE_PROBLEM, or null while saving works
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
    this.conversations = readConversations(parsed?.conversations);
    this.sort();
    this.conversations.unshift(...unstored);
  }

  /** Whether a `storage` event for `key` may have changed the conversations (null: storage cleared). */
  isChangedBy(key) {
    return key === STORAGE_KEY || key === null;
  }

  /** @returns {boolean} false when the browser refused to store (quota, privacy mode); `problem` says which */
  save() {
    const saved = this.conversations.filter((conversation) => conversation.messages.length > 0);
    return this.write(() => this.storage.setItem(STORAGE_KEY, JSON.stringify({ version: 1, conversations: saved })));
  }

  /**
   * Whether a write would be kept now. Reading needs no room, so a full storage still shows
   * every conversation; only this says that new ones would be lost.
   */
  checkWritable() {
    return this.write(() => {
      this.storage.setItem(PROBE_KEY, "1");
      this.storage.removeItem(PROBE_KEY);
    });
  }

  write(action) {
    if (this.problem === STORAGE_PROBLEM.BLOCKED) return true; // in memory: kept as long as the tab is open
    try {
      action();
      this.problem = null;
      return true;
    } catch (error) {
      this.problem = isQuotaError(error) ? STORAGE_PROBLEM.FULL : STORAGE_PROBLEM.BLOCKED;
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

  /** Record a change to a conversation: refresh its title (unless the person named it) and order, then save. */
  touch(conversation) {
    if (!conversation.renamed) conversation.title = titleFor(conversation.messages);
    conversation.updatedAt = Date.now();
    this.sort();
    return this.save();
  }

  /** Name a conversation; an empty name gives it back the title of its first question. */
  rename(conversation, title) {
    const name = title.replace(/\s+/g, " ").trim();
    conversation.renamed = name !== "";
    conversation.title = name || titleFor(conversation.messages);
    return conversation.messages.length > 0 ? this.save() : true;
  }

  /**
   * Add conversations read from an export. One already here (the same id) is left as it is.
   * @returns {{added: number, present: number}}
   */
  add(conversations) {
    let added = 0;
    for (const conversation of conversations) {
      if (conversation.messages.length === 0 || this.get(conversation.id)) continue;
      this.conversations.push(conversation);
      added += 1;
    }
    this.sort();
    this.save();
    return { added, present: conversations.length - added };
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

function isQuotaError(error) {
  // Older Firefox names it NS_ERROR_DOM_QUOTA_REACHED; old WebKit gives only the code 22.
  return error?.name === "QuotaExceededError" || error?.name === "NS_ERROR_DOM_QUOTA_REACHED" || error?.code === 22;
}

/**
 * The conversations in stored (or exported) data, checked field by field: anything else in
 * it is left behind, so a file from elsewhere cannot put odd values in front of the page.
 */
export function readConversations(list) {
  return Array.isArray(list) ? list.filter(isConversation).map(reviveConversation) : [];
}

function isConversation(value) {
  return (
    value &&
    typeof value.id === "string" &&
    Array.isArray(value.messages) &&
    value.messages.every((m) => m && ROLES.has(m.role) && typeof m.content === "string")
  );
}

// A page closed while an answer streamed left a turn marked as streaming: it was cut off.
// An answer flagged by the content filter before its text was dropped (stored by an older
// page) loses it now.
function reviveConversation(conversation) {
  const messages = conversation.messages.map(reviveMessage);
  const revived = {
    id: conversation.id,
    title: typeof conversation.title === "string" ? conversation.title : titleFor(messages),
    createdAt: Number(conversation.createdAt) || 0,
    updatedAt: Number(conversation.updatedAt) || 0,
    messages,
  };
  if (conversation.renamed === true) revived.renamed = true;
  if (typeof conversation.deployment === "string") revived.deployment = conversation.deployment;
  if (typeof conversation.preset === "string") revived.preset = conversation.preset;
  return revived;
}

const INTERRUPTED = { code: "interrupted", message: "The page was closed before the answer was complete." };

function reviveMessage(message) {
  const revived = { role: message.role, content: message.content };
  if (STATUSES.has(message.status)) revived.status = message.status;
  if (typeof message.reasoning === "string") revived.reasoning = message.reasoning;
  if (typeof message.finishReason === "string") revived.finishReason = message.finishReason;
  if ("usage" in message) revived.usage = isUsage(message.usage) ? message.usage : null;
  if (typeof message.error?.code === "string" && typeof message.error.message === "string") {
    revived.error = { code: message.error.code, message: message.error.message };
  }
  if (Number.isFinite(message.retryAt)) revived.retryAt = message.retryAt;
  if (typeof message.context?.host === "string" && typeof message.context.text === "string") {
    revived.context = { host: message.context.host, text: message.context.text };
  }
  if (revived.status === TURN.STREAMING) {
    revived.status = TURN.LOST;
    revived.error = { ...INTERRUPTED };
  }
  if (isWithheld(revived)) withhold(revived);
  return revived;
}

function isUsage(usage) {
  return (
    usage !== null &&
    typeof usage === "object" &&
    ["promptTokens", "completionTokens", "totalTokens"].every((key) => Number.isFinite(usage[key])) &&
    (usage.reasoningTokens === undefined || Number.isFinite(usage.reasoningTokens)) // none before reasoning models
  );
}

export { STORAGE_KEY };
