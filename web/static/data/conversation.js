// Conversation rules that do not depend on the page: titles, what is sent to the server,
// and trimming a long conversation to the server's limits. Pure functions.

export const ROLE = Object.freeze({ USER: "user", ASSISTANT: "assistant", SYSTEM: "system" });

/** States of an assistant turn. */
export const TURN = Object.freeze({
  STREAMING: "streaming",
  DONE: "done",
  STOPPED: "stopped",
  ERROR: "error",
  LOST: "lost",
  REFUSED: "refused", // the content filter refused the question before any answer
});

/** The finish reason of an answer the content filter flagged. */
const FILTERED = "content_filter";

const TITLE_MAX_CHARS = 60;
export const UNTITLED = "New chat";

/**
 * Length in Unicode code points, the way the server (Python `len`) counts, not in
 * UTF-16 units: an emoji is one character on both sides.
 */
export function countChars(text) {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        surrogatePairs += 1;
        i += 1;
      }
    }
  }
  return text.length - surrogatePairs;
}

/** Title of a conversation: its first user message on one line, shortened. */
export function titleFor(messages) {
  const first = messages.find((message) => message.role === ROLE.USER);
  if (!first) return UNTITLED;
  const line = first.content.replace(/\s+/g, " ").trim();
  if (line === "") return UNTITLED;
  const chars = Array.from(line);
  if (chars.length <= TITLE_MAX_CHARS) return line;
  return `${chars.slice(0, TITLE_MAX_CHARS - 1).join("").trimEnd()}…`;
}

/**
 * Whether the content filter flagged this answer. With Azure's asynchronous filter the
 * text streams first and the verdict comes at the end, so none of it can be trusted.
 */
export function isWithheld(message) {
  return message.role === ROLE.ASSISTANT && message.finishReason === FILTERED;
}

/** Forget a flagged answer's text and reasoning: they are neither shown, kept nor sent again. */
export function withhold(message) {
  message.content = "";
  delete message.reasoning;
}

/** Whether the content filter refused the question this turn answers, before any answer. */
export function isRefused(message) {
  return message.role === ROLE.ASSISTANT && message.status === TURN.REFUSED;
}

/**
 * The messages the server should see, oldest first: roles and text only (never the
 * reasoning). An assistant turn counts with whatever text it has (a stopped or broken
 * answer is still what the person saw); an assistant turn with no text, or one the content
 * filter flagged, is left out. A question the filter refused is left out with its turn:
 * sent again, it would be refused again and take every later question down with it.
 */
export function toRequestMessages(messages) {
  const out = [];
  let lastContext = null;
  for (const message of messages) {
    if (isRefused(message) && out.at(-1)?.role === ROLE.USER) out.pop();
    if (message.role === ROLE.ASSISTANT && (message.content === "" || isWithheld(message))) continue;
    // A host's context goes as its own, marked message before the question, once until it changes.
    const context = message.role === ROLE.USER && message.context ? contextText(message.context) : null;
    if (context !== null && context !== lastContext) out.push({ role: ROLE.USER, content: context });
    lastContext = context ?? lastContext;
    out.push({ role: message.role, content: message.content });
  }
  return out;
}

/**
 * What the model is sent before a question asked with a framing host's context. Context that
 * came in an imported file is said to be so: nothing shows that the host sent it.
 */
export function contextText({ host, text, imported = false }) {
  if (imported) {
    return `Context said to be from ${host}, in a conversation imported from a file (not checked; the person did not write it):\n${text}`;
  }
  return `Context from ${host} (the page the person is using; they did not write it):\n${text}`;
}

/** How a question's context is labelled above it on the page. */
export function contextLabel({ host, imported = false }) {
  return imported ? `With context said to be from ${host} (imported from a file, not checked)` : `With context from ${host}`;
}

/**
 * Drop the oldest messages until the conversation fits the server's limits. System
 * messages at the start are kept; the last message (the person's new one) is always kept.
 * A trimmed conversation starts with a user message, never with an orphaned answer.
 * @param {{role: string, content: string}[]} messages
 * @param {{maxMessages: number, maxTotalChars: number}} limits (0 or missing: no limit)
 * @returns {{messages: {role: string, content: string}[], dropped: number}}
 */
export function trimToLimits(messages, { maxMessages, maxTotalChars }) {
  const maxCount = maxMessages > 0 ? maxMessages : Infinity;
  const maxChars = maxTotalChars > 0 ? maxTotalChars : Infinity;
  let leading = 0;
  while (leading < messages.length - 1 && messages[leading].role === ROLE.SYSTEM) leading += 1;
  const system = messages.slice(0, leading);
  let rest = messages.slice(leading);

  const sizes = (list) => list.reduce((sum, message) => sum + countChars(message.content), 0);
  let count = system.length + rest.length;
  let total = sizes(system) + sizes(rest);
  let start = 0;
  const fits = () => count <= maxCount && total <= maxChars;
  while (!fits() && start < rest.length - 1) {
    total -= countChars(rest[start].content);
    count -= 1;
    start += 1;
  }
  while (start < rest.length - 1 && rest[start].role !== ROLE.USER) {
    total -= countChars(rest[start].content);
    count -= 1;
    start += 1;
  }
  if (!fits() && system.length > 0) {
    // Even the newest message alone does not fit beside the system prompt: send it alone.
    return { messages: rest.slice(rest.length - 1), dropped: messages.length - 1 };
  }
  rest = rest.slice(start);
  return { messages: [...system, ...rest], dropped: start };
}

/** Whether the turn at `index` is a failed last answer, which the person may ask again. */
export function isRetryable(conversation, index) {
  const message = conversation.messages[index];
  return (
    index === conversation.messages.length - 1 &&
    message?.role === ROLE.ASSISTANT &&
    (message.status === TURN.ERROR || message.status === TURN.LOST)
  );
}

/** Seconds before a failed answer may be asked again (the server said when), 0: now. */
export function retryWait(message, now = Date.now()) {
  return message.retryAt ? Math.max(0, Math.ceil((message.retryAt - now) / 1000)) : 0;
}
