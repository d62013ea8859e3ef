// The chat endpoint: POST the conversation, read the Server-Sent Events answer.
// No DOM here; the caller passes the endpoint URL (resolved against the page) and gets
// every piece of the answer through onDelta, every piece of the model's reasoning summary
// (which comes before the answer) through onReasoning, and one outcome at the end.

import { SseParser } from "./sse.js";

/** Outcome kinds of one request. */
export const OUTCOME = Object.freeze({
  DONE: "done", // the server sent `done`
  ERROR: "error", // an HTTP error before the stream, or an `error` event in it
  UNREACHABLE: "unreachable", // the request never reached the server (offline, server down)
  LOST: "lost", // the stream ended or broke without `done` or `error`
  ABORTED: "aborted", // the caller aborted through its AbortSignal
});

const EVENT_STREAM = "text/event-stream";

const LOST_MESSAGE = "Connection lost before the answer was complete.";

/**
 * Send the conversation and stream the answer.
 * @param {URL|string} url the chat endpoint
 * @param {{role: string, content: string}[]} messages the whole conversation, oldest first
 * @param {{signal?: AbortSignal, onDelta?: (text: string) => void, onReasoning?: (text: string) => void,
 *          fetchImpl?: typeof fetch, deployment?: string|null, preset?: string|null}} options (no deployment:
 *          the server's default; a preset: the conversation's, with its prompt and models)
 * @returns {Promise<object>} one of:
 *   {kind: "done", finishReason, usage}
 *   {kind: "error", code, message, retryAfter, status}
 *   {kind: "unreachable"}
 *   {kind: "lost", message}
 *   {kind: "aborted"}
 */
export async function streamChat(
  url,
  messages,
  { signal, onDelta = () => {}, onReasoning = () => {}, onAnswer = null, fetchImpl, deployment, preset } = {},
) {
  const body = { messages, ...(deployment ? { deployment } : {}), ...(preset ? { preset } : {}) };
  // With `onAnswer` the server keeps the answer for a reconnect: it is told the answer's id and secret first.
  if (onAnswer) body.resumable = true;
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: EVENT_STREAM },
    body: JSON.stringify(body),
  };
  return readAnswer(url, init, { signal, fetchImpl, onText: { delta: onDelta, reasoning: onReasoning, answer: onAnswer } });
}

/**
 * Follow a resumable answer from the event after `after` (server/resume.js): the same outcomes as
 * streamChat; an answer the server no longer has is an ERROR with code `answer_not_found`.
 * @param {URL|string} url `/api/answers/{id}`
 */
export async function followAnswer(url, { secret, after, signal, onDelta = () => {}, onReasoning = () => {}, fetchImpl } = {}) {
  const init = {
    method: "GET",
    headers: { Accept: EVENT_STREAM, "X-Answer-Secret": secret, "Last-Event-ID": String(after) },
  };
  return readAnswer(url, init, { signal, fetchImpl, onText: { delta: onDelta, reasoning: onReasoning } });
}

async function readAnswer(url, init, { signal, fetchImpl, onText }) {
  const doFetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  let response;
  try {
    response = await doFetch(url, { ...init, signal, cache: "no-store" });
  } catch (error) {
    if (signal?.aborted) return { kind: OUTCOME.ABORTED };
    return { kind: OUTCOME.UNREACHABLE };
  }

  if (!response.ok) return errorFromResponse(response, signal);

  const contentType = response.headers.get("Content-Type") ?? "";
  if (!contentType.toLowerCase().startsWith(EVENT_STREAM) || !response.body) {
    await response.body?.cancel().catch(() => {});
    return {
      kind: OUTCOME.ERROR,
      code: "unexpected_response",
      message: "The server sent an answer this page cannot read.",
      retryAfter: null,
      status: response.status,
    };
  }

  return readEventStream(response.body, signal, onText);
}

async function readEventStream(body, signal, onText) {
  const reader = body.getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal?.aborted) return { kind: OUTCOME.ABORTED };
        return { kind: OUTCOME.LOST, message: LOST_MESSAGE };
      }
      if (signal?.aborted) return { kind: OUTCOME.ABORTED };
      const events = chunk.done ? parser.end() : parser.push(chunk.value);
      for (const { event, data, id } of events) {
        const outcome = handleEvent(event, data, onText, id);
        if (outcome) return outcome;
      }
      if (chunk.done) return { kind: OUTCOME.LOST, message: LOST_MESSAGE };
    }
  } finally {
    // Stop reading on every path: after an abort, after `done`/`error` (nothing more is
    // expected), after a broken read. Cancelling a finished body is harmless.
    reader.cancel().catch(() => {});
  }
}

/**
 * @param {{delta: Function, reasoning: Function, answer?: Function|null}} onText what to call with the text
 *   of each kind of event (and its number, in a resumable answer), and with a resumable answer's name
 */
function handleEvent(event, data, onText, id) {
  let payload;
  try {
    payload = JSON.parse(data);
  } catch {
    return null; // a malformed frame is skipped, not fatal
  }
  if (payload === null || typeof payload !== "object") return null;
  switch (event) {
    case "delta":
    case "reasoning":
      if (typeof payload.content === "string" && payload.content !== "") onText[event](payload.content, id);
      return null;
    case "answer":
      if (typeof payload.id === "string" && typeof payload.secret === "string") {
        onText.answer?.({ id: payload.id, secret: payload.secret });
      }
      return null;
    case "done":
      return {
        kind: OUTCOME.DONE,
        finishReason: typeof payload.finish_reason === "string" ? payload.finish_reason : "stop",
        usage: validUsage(payload.usage),
      };
    case "error":
      return {
        kind: OUTCOME.ERROR,
        code: String(payload.code ?? "upstream_error"),
        message: messageText(payload.message, "The answer failed part-way."),
        retryAfter: seconds(payload.retry_after),
        status: 200,
      };
    default:
      return null; // unknown events are for newer clients
  }
}

async function errorFromResponse(response, signal) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    if (signal?.aborted) return { kind: OUTCOME.ABORTED };
  }
  const error = body && typeof body === "object" ? body.error : null;
  const headerRetry = seconds(response.headers.get("Retry-After"));
  return {
    kind: OUTCOME.ERROR,
    code: typeof error?.code === "string" ? error.code : `http_${response.status}`,
    message: messageText(error?.message, statusMessage(response.status)),
    retryAfter: seconds(error?.retry_after) ?? headerRetry,
    status: response.status,
  };
}

function statusMessage(status) {
  if (status === 429) return "Too many requests right now.";
  if (status >= 500) return `The server had a problem (HTTP ${status}).`;
  return `The server refused the request (HTTP ${status}).`;
}

function messageText(value, fallback) {
  return typeof value === "string" && value.trim() !== "" ? value : fallback;
}

function seconds(value) {
  const number = typeof value === "string" ? Number(value.trim()) : value;
  return typeof number === "number" && Number.isFinite(number) && number >= 0 ? Math.ceil(number) : null;
}

function validUsage(usage) {
  if (!usage || typeof usage !== "object") return null;
  const total = Number(usage.total_tokens);
  if (!Number.isFinite(total)) return null;
  return {
    promptTokens: Number(usage.prompt_tokens) || 0,
    completionTokens: Number(usage.completion_tokens) || 0,
    totalTokens: total,
    // Reasoning models count their hidden thinking among the completion tokens.
    reasoningTokens: Number(usage.completion_tokens_details?.reasoning_tokens) || 0,
  };
}
