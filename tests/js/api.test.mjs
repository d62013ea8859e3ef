import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";

import { OUTCOME, streamChat } from "../../web/static/server/api.js";

const encoder = new TextEncoder();
const SSE_HEADERS = { "Content-Type": "text/event-stream; charset=utf-8" };
const frame = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** A fetch stand-in answering with the given chunks, recording the request. */
function fakeFetch({ status = 200, headers = SSE_HEADERS, chunks = [], body, error } = {}) {
  const calls = [];
  const source = { cancelled: false };
  const fetchImpl = async (url, init) => {
    calls.push({ url: String(url), init });
    if (error) throw error;
    if (body !== undefined) return new Response(body, { status, headers });
    const stream = new ReadableStream({
      async pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else if (next instanceof Error) controller.error(next);
        else if (typeof next === "function") await next(controller);
        else controller.enqueue(typeof next === "string" ? encoder.encode(next) : next);
      },
      cancel() {
        source.cancelled = true;
      },
    });
    return new Response(stream, { status, headers });
  };
  return { fetchImpl, calls, source };
}

async function run(fake, options = {}) {
  const deltas = [];
  const reasoning = [];
  const outcome = await streamChat("http://127.0.0.1/api/chat", [{ role: "user", content: "hi" }], {
    fetchImpl: fake.fetchImpl,
    onDelta: (text) => deltas.push(text),
    onReasoning: (text) => reasoning.push(text),
    ...options,
  });
  return { outcome, deltas, reasoning };
}

/** The bytes of `body` in pieces of `size`, so frames and characters are split everywhere. */
function pieces(body, size) {
  const bytes = encoder.encode(body);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
  return chunks;
}

test("posts the conversation as JSON", async () => {
  const fake = fakeFetch({ chunks: [frame("done", { finish_reason: "stop", usage: null })] });
  await run(fake);
  const [{ url, init }] = fake.calls;
  assert.equal(url, "http://127.0.0.1/api/chat");
  assert.equal(init.method, "POST");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(init.body), { messages: [{ role: "user", content: "hi" }] });
});

test("deltas then done", async () => {
  const body =
    ": ping\n\n" +
    frame("delta", { content: "Hel" }) +
    frame("delta", { content: "lo 👋" }) +
    frame("done", { finish_reason: "length", usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  // Deliver in awkward pieces, splitting the emoji's bytes.
  const fake = fakeFetch({ chunks: pieces(body, 5) });
  const { outcome, deltas } = await run(fake);
  assert.equal(deltas.join(""), "Hello 👋");
  assert.deepEqual(outcome, {
    kind: OUTCOME.DONE,
    finishReason: "length",
    usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7, reasoningTokens: 0 },
  });
  assert.equal(fake.source.cancelled, true, "reader is released after done");
});

test("an error event keeps the text so far and reports the error", async () => {
  const fake = fakeFetch({
    chunks: [
      frame("delta", { content: "partial" }),
      frame("error", { code: "rate_limited", message: "Slow down.", retry_after: 12 }),
      frame("delta", { content: "never read" }),
    ],
  });
  const { outcome, deltas } = await run(fake);
  assert.deepEqual(deltas, ["partial"]);
  assert.deepEqual(outcome, { kind: OUTCOME.ERROR, code: "rate_limited", message: "Slow down.", retryAfter: 12, status: 200 });
});

test("end of body without done is a lost connection", async () => {
  const fake = fakeFetch({ chunks: [frame("delta", { content: "a" }), "event: delta\ndata: {\"content\": \"b\"}"] });
  const { outcome, deltas } = await run(fake);
  assert.deepEqual(deltas, ["a"]);
  assert.equal(outcome.kind, OUTCOME.LOST);
});

test("a broken body mid-stream is a lost connection", async () => {
  const fake = fakeFetch({ chunks: [frame("delta", { content: "a" }), new TypeError("network error")] });
  const { outcome, deltas } = await run(fake);
  assert.deepEqual(deltas, ["a"]);
  assert.equal(outcome.kind, OUTCOME.LOST);
});

test("fetch failing outright is an unreachable server, not a lost connection", async () => {
  const { outcome } = await run(fakeFetch({ error: new TypeError("Failed to fetch") }));
  assert.deepEqual(outcome, { kind: OUTCOME.UNREACHABLE });
});

test("HTTP error with the JSON error body", async () => {
  const fake = fakeFetch({
    status: 429,
    headers: { "Content-Type": "application/json", "Retry-After": "30" },
    body: JSON.stringify({ error: { code: "rate_limited", message: "Too many requests.", retry_after: 20 } }),
  });
  const { outcome } = await run(fake);
  assert.deepEqual(outcome, { kind: OUTCOME.ERROR, code: "rate_limited", message: "Too many requests.", retryAfter: 20, status: 429 });
});

test("HTTP error: Retry-After header when the body has no retry_after", async () => {
  const fake = fakeFetch({
    status: 429,
    headers: { "Content-Type": "application/json", "Retry-After": "7" },
    body: JSON.stringify({ error: { code: "rate_limited", message: "Later." } }),
  });
  assert.equal((await run(fake)).outcome.retryAfter, 7);
});

test("HTTP error without a JSON body (e.g. a proxy page) still gives a readable message", async () => {
  const fake = fakeFetch({ status: 502, headers: { "Content-Type": "text/html" }, body: "<html>Bad gateway</html>" });
  const { outcome } = await run(fake);
  assert.equal(outcome.kind, OUTCOME.ERROR);
  assert.equal(outcome.code, "http_502");
  assert.match(outcome.message, /502/);
  assert.doesNotMatch(outcome.message, /<html>/);
});

test("a 200 that is not an event stream is an error", async () => {
  const fake = fakeFetch({ headers: { "Content-Type": "text/html" }, body: "<html></html>" });
  assert.equal((await run(fake)).outcome.code, "unexpected_response");
});

test("malformed frames and unknown events are skipped", async () => {
  const fake = fakeFetch({
    chunks: [
      "event: delta\ndata: not json\n\n",
      frame("future_event", { x: 1 }),
      "data: {\"content\": \"unnamed\"}\n\n",
      frame("delta", { content: "ok" }),
      frame("done", { finish_reason: "stop", usage: null }),
    ],
  });
  const { outcome, deltas } = await run(fake);
  assert.deepEqual(deltas, ["ok"]);
  assert.equal(outcome.kind, OUTCOME.DONE);
  assert.equal(outcome.usage, null);
});

test("abort between reads stops reading and cancels the body", async () => {
  const abort = new AbortController();
  const fake = fakeFetch({
    chunks: [
      frame("delta", { content: "first" }),
      (controller) => {
        abort.abort();
        controller.enqueue(encoder.encode(frame("delta", { content: "after abort" })));
      },
    ],
  });
  const { outcome, deltas } = await run(fake, { signal: abort.signal });
  assert.equal(outcome.kind, OUTCOME.ABORTED);
  assert.deepEqual(deltas, ["first"]);
  assert.equal(fake.source.cancelled, true);
});

// With the real fetch and a real (loopback) server: abort and a dropped connection.
async function withServer(handler, fn) {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  try {
    return await fn(`http://127.0.0.1:${port}/api/chat`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test("abort with the real fetch closes the connection to the server", async () => {
  let serverSawClose;
  const closed = new Promise((resolve) => {
    serverSawClose = resolve;
  });
  await withServer(
    (request, response) => {
      response.writeHead(200, SSE_HEADERS);
      response.write(frame("delta", { content: "streaming" }));
      response.on("close", serverSawClose);
    },
    async (url) => {
      const abort = new AbortController();
      const deltas = [];
      const outcome = await streamChat(url, [{ role: "user", content: "hi" }], {
        signal: abort.signal,
        onDelta: (text) => {
          deltas.push(text);
          abort.abort();
        },
      });
      assert.equal(outcome.kind, OUTCOME.ABORTED);
      assert.deepEqual(deltas, ["streaming"]);
      await closed;
    },
  );
});

test("the server dropping the connection mid-stream is a lost connection", async () => {
  await withServer(
    (request, response) => {
      response.writeHead(200, SSE_HEADERS);
      response.write(frame("delta", { content: "half" }), () => setTimeout(() => request.socket.destroy(), 20));
    },
    async (url) => {
      const deltas = [];
      const outcome = await streamChat(url, [{ role: "user", content: "hi" }], { onDelta: (t) => deltas.push(t) });
      assert.equal(outcome.kind, OUTCOME.LOST);
      assert.deepEqual(deltas, ["half"]);
    },
  );
});

test("the chosen deployment is sent, and only when there is one", async () => {
  const chosen = fakeFetch({ chunks: [frame("done", { finish_reason: "stop", usage: null })] });
  await run(chosen, { deployment: "gpt-4o-mini" });
  assert.deepEqual(JSON.parse(chosen.calls[0].init.body), {
    messages: [{ role: "user", content: "hi" }],
    deployment: "gpt-4o-mini",
  });
  const defaulted = fakeFetch({ chunks: [frame("done", { finish_reason: "stop", usage: null })] });
  await run(defaulted, { deployment: null });
  assert.deepEqual(JSON.parse(defaulted.calls[0].init.body), { messages: [{ role: "user", content: "hi" }] });
});

test("reasoning before the answer: each piece to onReasoning, in order, apart from the answer", async () => {
  const body =
    ": ping\n\n" +
    ": ping\n\n" +
    frame("reasoning", { content: "**Weighing** the " }) +
    frame("reasoning", { content: "options 🤔\n\n" }) +
    frame("delta", { content: "Take the " }) +
    frame("delta", { content: "train." }) +
    frame("done", {
      finish_reason: "stop",
      usage: {
        prompt_tokens: 20,
        completion_tokens: 600,
        total_tokens: 620,
        completion_tokens_details: { reasoning_tokens: 512 },
      },
    });
  for (const size of [1, 3, 7, body.length]) {
    const { outcome, deltas, reasoning } = await run(fakeFetch({ chunks: pieces(body, size) }));
    assert.equal(reasoning.join(""), "**Weighing** the options 🤔\n\n", `pieces of ${size}`);
    assert.equal(deltas.join(""), "Take the train.", `pieces of ${size}`);
    assert.deepEqual(outcome.usage, { promptTokens: 20, completionTokens: 600, totalTokens: 620, reasoningTokens: 512 });
  }
});

test("empty or malformed reasoning pieces are skipped; no onReasoning is fine", async () => {
  const chunks = () => [
    frame("reasoning", { content: "" }),
    frame("reasoning", { content: 42 }),
    "event: reasoning\ndata: {not json\n\n",
    frame("reasoning", { content: "ok" }),
    frame("done", { finish_reason: "stop", usage: null }),
  ];
  const { outcome, reasoning } = await run(fakeFetch({ chunks: chunks() }));
  assert.deepEqual(reasoning, ["ok"]);
  assert.equal(outcome.kind, OUTCOME.DONE);
  const quiet = await streamChat("http://127.0.0.1/api/chat", [], { fetchImpl: fakeFetch({ chunks: chunks() }).fetchImpl });
  assert.equal(quiet.kind, OUTCOME.DONE);
});

test("reasoning tokens: absent, malformed or zero count as none", async () => {
  const usageOf = async (usage) => {
    const { outcome } = await run(fakeFetch({ chunks: [frame("done", { finish_reason: "stop", usage })] }));
    return outcome.usage.reasoningTokens;
  };
  const base = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
  assert.equal(await usageOf(base), 0);
  assert.equal(await usageOf({ ...base, completion_tokens_details: null }), 0);
  assert.equal(await usageOf({ ...base, completion_tokens_details: { reasoning_tokens: "many" } }), 0);
  assert.equal(await usageOf({ ...base, completion_tokens_details: { reasoning_tokens: 0 } }), 0);
  assert.equal(await usageOf({ ...base, completion_tokens_details: { reasoning_tokens: 64 } }), 64);
});

test("a content_filter finish after the text is reported as such", async () => {
  const fake = fakeFetch({
    chunks: [frame("delta", { content: "flagged text" }), frame("done", { finish_reason: "content_filter", usage: null })],
  });
  const { outcome, deltas } = await run(fake);
  assert.deepEqual(deltas, ["flagged text"]);
  assert.deepEqual(outcome, { kind: OUTCOME.DONE, finishReason: "content_filter", usage: null });
});

test("neither max_tokens nor max_completion_tokens is sent: the server decides", async () => {
  const fake = fakeFetch({ chunks: [frame("done", { finish_reason: "stop", usage: null })] });
  await run(fake, { deployment: "o4-mini" });
  const body = JSON.parse(fake.calls[0].init.body);
  assert.deepEqual(Object.keys(body).sort(), ["deployment", "messages"]);
});
