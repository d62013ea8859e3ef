// Conversations read back from localStorage or from an exported file: a turn cut off by a
// closed page, or withheld by the content filter, is revived as such. No DOM, no storage.

import { ROLE, TURN, isWithheld, titleFor, withhold } from "./conversation.js";

const ROLES = new Set(Object.values(ROLE));
const STATUSES = new Set(Object.values(TURN));

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
    if (message.context.imported === true) revived.context.imported = true; // read from a file (history.js)
  }
  const resumable = message.resumable;
  if (typeof resumable?.id === "string" && typeof resumable.secret === "string" && Number.isInteger(resumable.last)) {
    revived.resumable = { id: resumable.id, secret: resumable.secret, last: resumable.last };
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

