// The conversation history as a person handles it: grouped by date, searched, exported to
// a file (JSON to import again, Markdown to read) and imported. Pure functions, no DOM.

import { ROLE, TURN, isWithheld } from "./conversation.js";
import { readConversations } from "./stored.js";

export const EXPORT_FORMAT = "chat-conversations";
const EXPORT_VERSION = 1;
const DAY_MS = 24 * 60 * 60 * 1000;
// Characters shown before and after a match: few before, so the match shows in a narrow list.
const SNIPPET_BEFORE = 20;
const SNIPPET_AFTER = 60;
const FILE_NAME_CHARS = 40;

export const GROUP = Object.freeze({
  TODAY: "Today",
  YESTERDAY: "Yesterday",
  WEEK: "Previous 7 days",
  OLDER: "Older",
});

/**
 * Conversations (newest first) under the date of their last change, as the person's calendar
 * has it: "Yesterday" starts at last midnight, not 24 hours ago.
 * @returns {{label: string, conversations: object[]}[]} the groups that have any, newest first
 */
export function groupByDate(conversations, now = Date.now()) {
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const today = midnight.getTime();
  // Days of the calendar, not multiples of 24 hours: a day with a clock change has 23 or 25.
  const daysBefore = (days) => new Date(midnight.getFullYear(), midnight.getMonth(), midnight.getDate() - days).getTime();
  const starts = [
    [GROUP.TODAY, today],
    [GROUP.YESTERDAY, daysBefore(1)],
    [GROUP.WEEK, daysBefore(7)],
    [GROUP.OLDER, -Infinity],
  ];
  const groups = starts.map(([label]) => ({ label, conversations: [] }));
  for (const conversation of conversations) {
    const at = conversation.updatedAt;
    groups[starts.findIndex(([, start]) => at >= start)].conversations.push(conversation);
  }
  return groups.filter((group) => group.conversations.length > 0);
}

function folded(text) {
  return text.toLocaleLowerCase();
}

/**
 * The conversations whose title or text holds every word of `query` (any case), in their
 * order. Each comes with the place in its text where the first word was found, if not in
 * the title: `{before, match, after}`, cut to a line's length.
 */
export function searchConversations(conversations, query) {
  const words = folded(query).split(/\s+/).filter((word) => word !== "");
  if (words.length === 0) return conversations.map((conversation) => ({ conversation, snippet: null }));
  const results = [];
  for (const conversation of conversations) {
    const texts = [conversation.title, ...conversation.messages.map((message) => message.content)];
    const haystack = folded(texts.join("\n"));
    if (!words.every((word) => haystack.includes(word))) continue;
    const inTitle = folded(conversation.title).includes(words[0]);
    results.push({ conversation, snippet: inTitle ? null : snippetOf(conversation.messages, words[0]) });
  }
  return results;
}

function snippetOf(messages, word) {
  for (const message of messages) {
    const at = folded(message.content).indexOf(word);
    if (at === -1) continue;
    const text = message.content;
    const matchEnd = at + word.length;
    // Cut between words: after a space before the match, at a space after it.
    let start = Math.max(0, at - SNIPPET_BEFORE);
    if (start > 0) start = text.slice(start, at).includes(" ") ? text.indexOf(" ", start) + 1 : at;
    let end = Math.min(text.length, matchEnd + SNIPPET_AFTER);
    if (end < text.length && text.lastIndexOf(" ", end) > matchEnd) end = text.lastIndexOf(" ", end);
    const line = (part) => part.replace(/\s+/g, " ");
    return {
      before: (start > 0 ? "…" : "") + line(text.slice(start, at)).trimStart(),
      match: text.slice(at, matchEnd),
      after: line(text.slice(matchEnd, end)).trimEnd() + (end < text.length ? "…" : ""),
    };
  }
  return null;
}

// ---- files ------------------------------------------------------------------------------

/** A file to download: its name, type and text. */
function file(name, type, text) {
  return { name, type, text };
}

function day(now) {
  const date = new Date(now);
  const pad = (number) => String(number).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** "chat-how-do-tides-work-2026-05-01", or "chat-conversations-…" for all of them. */
function baseName(conversations, now) {
  const title = conversations.length === 1 ? conversations[0].title : "conversations";
  const slug = title
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, FILE_NAME_CHARS)
    .replace(/^-+|-+$/g, "");
  return `chat-${slug || "conversation"}-${day(now)}`;
}

/**
 * A turn as a file keeps it: without a resumable answer's id, secret and last event number. The
 * secret reads and stops that answer on the server, and a file is shared; its answer is over anyway.
 */
function exportedMessage(message) {
  const exported = { ...message };
  delete exported.resumable;
  return exported;
}

/** The conversations as JSON that `readExport` takes back. */
export function jsonExport(conversations, now = Date.now()) {
  const kept = conversations
    .filter((conversation) => conversation.messages.length > 0)
    .map((conversation) => ({ ...conversation, messages: conversation.messages.map(exportedMessage) }));
  const exported = { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date(now).toISOString(), conversations: kept };
  return file(`${baseName(kept, now)}.json`, "application/json", `${JSON.stringify(exported, null, 2)}\n`);
}

/** The conversations as Markdown, to read: each a heading, each turn under who said it. */
export function markdownExport(conversations, now = Date.now()) {
  const kept = conversations.filter((conversation) => conversation.messages.length > 0);
  const text = kept.map(conversationMarkdown).join("\n---\n\n");
  return file(`${baseName(kept, now)}.md`, "text/markdown", text);
}

const SPEAKER = Object.freeze({ [ROLE.USER]: "You", [ROLE.ASSISTANT]: "Assistant", [ROLE.SYSTEM]: "System" });

const STATUS_NOTE = Object.freeze({
  [TURN.STOPPED]: "Stopped.",
  [TURN.LOST]: "Cut off before the end.",
  [TURN.ERROR]: "No answer: it failed.",
  [TURN.REFUSED]: "Refused by the content filter.",
});

function conversationMarkdown(conversation) {
  const parts = [`# ${conversation.title}\n`, `_${new Date(conversation.updatedAt).toLocaleString()}_\n`];
  for (const message of conversation.messages) {
    parts.push(`## ${SPEAKER[message.role] ?? message.role}\n`);
    if (isWithheld(message)) parts.push("_Withheld by the content filter._\n");
    else if (message.content !== "") parts.push(`${message.content.trimEnd()}\n`);
    const note = STATUS_NOTE[message.status];
    if (note) parts.push(`_${note}_\n`);
  }
  return parts.join("\n");
}

/** A file that is not an export of conversations; `message` is written for people. */
export class ImportError extends Error {}

// What an imported file may not bring in as it is: a file is written by anyone (a page that
// offers "your chat history" for download, say), and the page would show and send its parts as
// its own. A system message would be sent as the system prompt (where the preset does not lock
// it): it is dropped. A host's context would read as sent by that host: it is kept, labelled as
// imported (shown so, and sent so). An error notice would read as the page's own: the file's
// wording is replaced by the page's. Numbers are clamped: no date after now, no wait, no usage
// beyond what one answer could spend.
const MAX_IMPORTED_TOKENS = 10_000_000;
const IMPORTED_ERROR = Object.freeze({
  [TURN.ERROR]: "This answer failed before the conversation was exported.",
  [TURN.REFUSED]: "The content filter refused this question before the conversation was exported.",
  [TURN.LOST]: "This answer was cut off before the conversation was exported.",
});

const clamp = (number, low, high) => Math.min(high, Math.max(low, Math.round(number)));

function importedMessage(message) {
  const imported = exportedMessage(message); // an older export kept a resumable answer's id and secret: not followed
  delete imported.retryAt;
  if (imported.error) {
    imported.error = { code: "imported", message: IMPORTED_ERROR[imported.status] ?? IMPORTED_ERROR[TURN.ERROR] };
  }
  if (imported.context) imported.context = { ...imported.context, imported: true };
  if (imported.usage) {
    imported.usage = Object.fromEntries(
      Object.entries(imported.usage).map(([key, value]) => [key, clamp(value, 0, MAX_IMPORTED_TOKENS)]),
    );
  }
  return imported;
}

/** A conversation read from a file, made safe to show and to continue (see above). */
export function importedConversation(conversation, now = Date.now()) {
  const messages = conversation.messages.filter((message) => message.role !== ROLE.SYSTEM).map(importedMessage);
  const createdAt = clamp(conversation.createdAt, 0, now);
  const updatedAt = clamp(conversation.updatedAt, createdAt, now);
  return { ...conversation, createdAt, updatedAt, messages };
}

/**
 * The conversations in an exported file's text, checked as stored ones are, and made safe as
 * `importedConversation` says.
 * @throws {ImportError}
 */
export function readExport(text, now = Date.now()) {
  let exported;
  try {
    exported = JSON.parse(text);
  } catch {
    throw new ImportError("That file is not JSON. Choose a file exported as JSON from this page.");
  }
  // The page's own storage has the same shape without the format line: take that too.
  const known = exported?.format === EXPORT_FORMAT || (exported?.version === 1 && !("format" in exported));
  if (!known || !Array.isArray(exported.conversations)) {
    throw new ImportError("That file holds no conversations exported from this page.");
  }
  return readConversations(exported.conversations).map((conversation) => importedConversation(conversation, now));
}
