// The messages a page that frames the chat (the host) and the chat send each other with
// postMessage: their types, which origins may be the host, and what a host message must hold.
// No DOM and no window here; host-bridge.js does the sending and listening.

/** Host → chat. The version is in the type, so a later shape is a new type, never a surprise. */
export const HOST_MESSAGE = Object.freeze({
  SET_CONTEXT: "chat:v1:set-context", // {text}: sent with the next questions; "" removes it
  PREFILL: "chat:v1:prefill", // {text, send?}: put a question in the box, and send it if `send`
  NEW_CHAT: "chat:v1:new-chat", // {}
  SET_THEME: "chat:v1:set-theme", // {theme: "light" | "dark" | "system"}
  FOCUS: "chat:v1:focus", // {}: the host moved focus into the chat; the message box takes it
  HELLO: "chat:v1:hello", // {}: names the host where the browser did not (no referrer); nothing else
});

/** Chat → host. */
export const CHAT_MESSAGE = Object.freeze({
  READY: "chat:v1:ready", // {}: the chat takes messages now
  ANSWER_STARTED: "chat:v1:answer-started", // {}
  ANSWER_FINISHED: "chat:v1:answer-finished", // {status, usage, error}
  RESIZE: "chat:v1:resize", // {height}: the content's height in CSS pixels
  CONTEXT_REMOVED: "chat:v1:context-removed", // {}: the person removed the host's context
  ESCAPE: "chat:v1:escape", // {}: Esc pressed with nothing in the chat to close or stop
});

export const THEMES = Object.freeze(["light", "dark", "system"]);

const ORIGIN = /^(https?):\/\/([^/:]+)(?::(\d+))?\/?$/i;
const WILDCARD = /^(https?):\/\/\*\.([^/:*]+)(?::(\d+))?\/?$/i;
const HOST_ONLY = /^(\*\.)?[a-z0-9.-]+(?::\d+)?$/i;

/**
 * The origins that may act as the host, from the server's CHAT_FRAME_ANCESTORS and
 * CHAT_ALLOWED_ORIGINS tokens. `'self'` is the chat's own origin; a source without a scheme takes
 * the chat's (as in CSP); `*`, `'none'` and bare schemes (`https:`) name no one in particular and
 * are left out: the chat talks only to hosts named one by one, or by a `*.` subdomain pattern.
 * @returns {{exact: Set<string>, patterns: {scheme: string, suffix: string, port: string}[]}}
 */
export function hostOrigins(tokens, ownOrigin) {
  const exact = new Set();
  const patterns = [];
  const ownScheme = new URL(ownOrigin).protocol.slice(0, -1);
  for (const raw of tokens) {
    let token = raw.trim();
    if (token === "'self'") {
      exact.add(ownOrigin);
      continue;
    }
    if (HOST_ONLY.test(token)) token = `${ownScheme}://${token}`;
    const wildcard = WILDCARD.exec(token);
    if (wildcard) {
      const [, scheme, suffix, port] = wildcard;
      patterns.push({ scheme: scheme.toLowerCase(), suffix: suffix.toLowerCase(), port: port ?? "" });
      continue;
    }
    const origin = originOf(token);
    if (origin) exact.add(origin);
  }
  return { exact, patterns };
}

/** The origin of an http(s) URL or origin string, or null. */
export function originOf(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null; // `*`, `'none'`, `https:`
  }
}

/** Whether `origin` (an event's `origin`, exact) is one of `allowed` (from hostOrigins). */
export function isHostOrigin(origin, allowed) {
  if (typeof origin !== "string" || origin === "null") return false;
  if (allowed.exact.has(origin)) return true;
  const match = ORIGIN.exec(origin);
  if (!match) return false;
  const [, scheme, host, port = ""] = match;
  return allowed.patterns.some(
    (pattern) =>
      pattern.scheme === scheme.toLowerCase() &&
      pattern.port === port &&
      host.toLowerCase().endsWith(`.${pattern.suffix}`),
  );
}

/**
 * A host message checked field by field: `{message}` with only the fields its type defines, or
 * `{problem}` saying why it is refused. Fields a type does not define are ignored.
 * @param {unknown} data what the event carried
 * @param {{maxChars: number}} limits the longest text taken (0: no limit)
 */
export function readHostMessage(data, { maxChars = 0 } = {}) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return { problem: "not an object" };
  const { type } = data;
  if (typeof type !== "string") return { problem: "no type" };
  const text = () => {
    if (typeof data.text !== "string") return { problem: `${type} needs a text` };
    if (maxChars > 0 && Array.from(data.text).length > maxChars) {
      return { problem: `${type} text is longer than ${maxChars} characters` };
    }
    return null;
  };
  switch (type) {
    case HOST_MESSAGE.SET_CONTEXT:
      return text() ?? { message: { type, text: data.text.trim() } };
    case HOST_MESSAGE.PREFILL: {
      if (data.send !== undefined && typeof data.send !== "boolean") return { problem: `${type} send must be true or false` };
      return text() ?? { message: { type, text: data.text, send: data.send === true } };
    }
    case HOST_MESSAGE.NEW_CHAT:
    case HOST_MESSAGE.FOCUS:
    case HOST_MESSAGE.HELLO:
      return { message: { type } };
    case HOST_MESSAGE.SET_THEME:
      if (!THEMES.includes(data.theme)) return { problem: `${type} theme must be one of ${THEMES.join(", ")}` };
      return { message: { type, theme: data.theme } };
    default:
      return { problem: `unknown type ${JSON.stringify(type).slice(0, 80)}` };
  }
}

/** An answer's end as the host hears it: status, usage in the API's names, error code. */
export function answerFinished(message) {
  const usage = message.usage
    ? {
        prompt_tokens: message.usage.promptTokens,
        completion_tokens: message.usage.completionTokens,
        total_tokens: message.usage.totalTokens,
        reasoning_tokens: message.usage.reasoningTokens ?? 0,
      }
    : null;
  return { type: CHAT_MESSAGE.ANSWER_FINISHED, status: message.status, usage, error: message.error?.code ?? null };
}
