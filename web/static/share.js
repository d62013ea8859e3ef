// The page of a share link: the snapshot (a JSON block of the page, never markup) drawn as the
// chat draws a conversation, through the same markdown and sanitizer; "Continue this chat" copies
// it into this browser's history as a conversation of the reader's own and opens the chat on it.

import { ROLE, TURN } from "./data/conversation.js";
import { ConversationStore } from "./data/store.js";
import { copyCode } from "./messages/copy-code.js";
import { markdownFragment, messageShell, statusFooter } from "./messages/message-markup.js";
import { delegate, qs } from "./page/helpers.js";

// How the server says an answer ended (chat/conversations/store.py), as the page's turns say it.
const STATUS_TURNS = Object.freeze({ completed: TURN.DONE, stopped: TURN.STOPPED, cut: TURN.LOST, failed: TURN.ERROR });
const CUT_OFF = { code: "cut", message: "The answer was cut off before it was complete." };
const FAILED = { code: "failed", message: "The answer failed before it was complete." };

/** A shared message as the page keeps a turn (data/stored.js). */
export function pageMessage(shared) {
  const message = { role: shared.role === ROLE.USER ? ROLE.USER : ROLE.ASSISTANT, content: String(shared.content ?? "") };
  if (message.role === ROLE.ASSISTANT) {
    const status = STATUS_TURNS[shared.status];
    if (status) message.status = status;
    if (status === TURN.LOST) message.error = { ...CUT_OFF };
    if (status === TURN.ERROR) message.error = { ...FAILED };
    if (typeof shared.reasoning === "string") message.reasoning = shared.reasoning;
    if (typeof shared.finish_reason === "string") message.finishReason = shared.finish_reason;
  }
  return message;
}

function drawMessage(message, index) {
  const article = messageShell(message, index);
  const body = qs(".message-body", article);
  if (message.role === ROLE.USER) {
    body.textContent = message.content;
    return article;
  }
  if (message.content !== "") body.append(markdownFragment(message.content));
  article.append(statusFooter(message, { announce: false }));
  return article;
}

function newId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function browserStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

const snapshot = JSON.parse(qs("#snapshot").textContent);
const messages = (Array.isArray(snapshot.messages) ? snapshot.messages : []).map(pageMessage);
const list = qs("#messages");
list.append(...messages.map(drawMessage));
delegate(list, "[data-action='copy-code']", "click", (copyButton) => copyCode(copyButton));

qs("#continue-chat").addEventListener("click", () => {
  const store = new ConversationStore(browserStorage());
  const now = Date.now();
  const conversation = { id: newId(), title: String(snapshot.title ?? ""), renamed: true, createdAt: now, updatedAt: now, messages };
  store.add([conversation]);
  if (store.problem) {
    const error = qs("#continue-error");
    error.textContent = "This browser keeps no room for another conversation: export or delete some in the chat, then try again.";
    error.hidden = false;
    return;
  }
  window.location.assign(new URL("../", document.baseURI)); // from /s/<token>: the chat, which opens the newest conversation
});
