// Conversations kept in localStorage, so they survive a reload. No DOM; the storage is
// passed in (window.localStorage in the page, a stand-in in tests). The store's methods are
// the only code that changes a conversation: its list, its turns, its title, its model.

import { PROBE_KEY, STORAGE_KEY } from "../constants.js";
import { ROLE, TURN, titleFor } from "./conversation.js";
import { settle } from "./outcome.js";
import { readConversations } from "./stored.js";

/** Why conversations are not being saved. */
export const STORAGE_PROBLEM = Object.freeze({
  FULL: "full", // the browser's storage quota is used up: what is stored can still be read
  BLOCKED: "blocked", // no storage at all (privacy settings): nothing lasts beyond the tab
});

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

  /**
   * A new, empty conversation; it is stored once it has a message. A `preset` is kept with it:
   * its later answers use it too.
   */
  create({ deployment = null, preset = null } = {}) {
    const now = Date.now();
    const conversation = { id: newId(), title: titleFor([]), createdAt: now, updatedAt: now, messages: [] };
    if (deployment) conversation.deployment = deployment;
    if (preset) conversation.preset = preset;
    this.conversations.unshift(conversation);
    return conversation;
  }

  // ---- a conversation's turns: changed here, saved by touch --------------------------

  /** The person's question, last; asked with a framing host's `context` ({host, text}), if any. */
  addQuestion(conversation, text, context = null) {
    const question = { role: ROLE.USER, content: text, ...(context && { context: { ...context } }) };
    conversation.messages.push(question);
    return question;
  }

  /** An edited question in place of the one at `index`, with the context it was asked with; the turns after it go. */
  replaceQuestion(conversation, index, text) {
    const { context } = conversation.messages[index];
    conversation.messages.splice(index, Infinity, { role: ROLE.USER, content: text, ...(context && { context }) });
  }

  /** Take the last turn away: a failed answer asked again, an answer regenerated, an empty one removed. */
  removeLast(conversation) {
    return conversation.messages.pop();
  }

  /** An answer's turn, last, filled as its text arrives. */
  addAnswer(conversation) {
    const answer = { role: ROLE.ASSISTANT, content: "", status: TURN.STREAMING };
    conversation.messages.push(answer);
    return answer;
  }

  /**
   * Text that arrived for an answer: `field` is "reasoning" (never sent back) or "content"; `number`,
   * the event's in a resumable answer, kept with the text so that a reload resumes right after it.
   */
  growAnswer(answer, field, text, number = null) {
    answer[field] = (answer[field] ?? "") + text;
    if (number !== null && answer.resumable) answer.resumable.last = number;
  }

  /** The server keeps this answer for a reconnect: its id and the secret that reads it, saved with the turn. */
  keepResumable(answer, { id, secret }) {
    answer.resumable = { id, secret, last: 0 };
  }

  /** The answer has ended: nothing to come back for. */
  forgetResumable(answer) {
    delete answer.resumable;
  }

  /** A turn cut off by a reload, being followed again. */
  reopenAnswer(answer) {
    answer.status = TURN.STREAMING;
    delete answer.error;
  }

  /** An answer's outcome (api.js OUTCOME) into its turn: its status, and why it failed. */
  settleAnswer(answer, outcome, { online = true } = {}) {
    settle(answer, outcome, { online });
  }

  /** The model that answers the conversation from now on. */
  setDeployment(conversation, deployment) {
    conversation.deployment = deployment;
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

