// What a framing host may send, and who may be the host.
import { test } from "node:test";
import assert from "node:assert/strict";

import { PAGE_EVENT } from "../../web/static/constants.js";
import { toRequestMessages } from "../../web/static/data/conversation.js";
import { openTab } from "./fake-page.mjs";
import { FakeStorage } from "./fake-storage.mjs";
import { CHAT_MESSAGE, answerFinished, hostOrigins, isHostOrigin, readHostMessage } from "../../web/static/host/host-messages.js";

const CHAT = "https://chat.example.com";

test("hosts are the listed origins, 'self' and *. patterns; wildcards and bare schemes name no one", () => {
  const allowed = hostOrigins(
    ["'self'", "https://intranet.example.com", "tools.example.org:8443", "https://*.corp.example", "*", "https:", "'none'", "data:"],
    CHAT,
  );
  assert.deepEqual([...allowed.exact].sort(), [CHAT, "https://intranet.example.com", "https://tools.example.org:8443"]);
  for (const origin of [CHAT, "https://intranet.example.com", "https://tools.example.org:8443", "https://wiki.corp.example"]) {
    assert.ok(isHostOrigin(origin, allowed), origin);
  }
  for (const origin of [
    "http://intranet.example.com", // another scheme
    "https://intranet.example.com:444", // another port
    "https://evil.example", // not listed
    "https://corp.example", // the pattern is for subdomains
    "https://evilcorp.example",
    "https://wiki.corp.example:8443",
    "null", // a sandboxed frame or a file
    undefined,
  ]) {
    assert.ok(!isHostOrigin(origin, allowed), String(origin));
  }
});

test("no listed host: no one is heard", () => {
  const allowed = hostOrigins([], CHAT);
  assert.ok(!isHostOrigin(CHAT, allowed));
});

test("each host message type is read field by field; extra fields are dropped", () => {
  assert.deepEqual(readHostMessage({ type: "chat:v1:set-context", text: " Ticket 42 ", extra: 1 }), {
    message: { type: "chat:v1:set-context", text: "Ticket 42" },
  });
  assert.deepEqual(readHostMessage({ type: "chat:v1:prefill", text: "Why?" }), {
    message: { type: "chat:v1:prefill", text: "Why?", send: false },
  });
  assert.deepEqual(readHostMessage({ type: "chat:v1:prefill", text: "Why?", send: true }), {
    message: { type: "chat:v1:prefill", text: "Why?", send: true },
  });
  assert.deepEqual(readHostMessage({ type: "chat:v1:new-chat" }), { message: { type: "chat:v1:new-chat" } });
  assert.deepEqual(readHostMessage({ type: "chat:v1:set-theme", theme: "dark" }), {
    message: { type: "chat:v1:set-theme", theme: "dark" },
  });
});

test("malformed, unknown and oversized messages are refused with a reason", () => {
  const refused = [
    ["a string", /not an object/],
    [null, /not an object/],
    [["chat:v1:new-chat"], /not an object/],
    [{ text: "no type" }, /no type/],
    [{ type: "chat:v2:set-context", text: "x" }, /unknown type/],
    [{ type: "chat:v1:eval", code: "alert(1)" }, /unknown type/],
    [{ type: "chat:v1:set-context" }, /needs a text/],
    [{ type: "chat:v1:set-context", text: 42 }, /needs a text/],
    [{ type: "chat:v1:prefill", text: "x", send: "yes" }, /send must be/],
    [{ type: "chat:v1:set-theme", theme: "sepia" }, /theme must be/],
    [{ type: "chat:v1:set-context", text: "😀".repeat(11) }, /longer than 10/],
  ];
  for (const [data, reason] of refused) {
    const { message, problem } = readHostMessage(data, { maxChars: 10 });
    assert.equal(message, undefined, JSON.stringify(data));
    assert.match(problem, reason);
  }
  assert.ok(readHostMessage({ type: "chat:v1:set-context", text: "😀".repeat(10) }, { maxChars: 10 }).message);
});

test("an answer's end is told with its usage in the API's names", () => {
  const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15, reasoningTokens: 2 };
  assert.deepEqual(answerFinished({ status: "done", usage }), {
    type: CHAT_MESSAGE.ANSWER_FINISHED,
    status: "done",
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, reasoning_tokens: 2 },
    error: null,
  });
  assert.deepEqual(answerFinished({ status: "error", error: { code: "rate_limited", message: "" } }), {
    type: CHAT_MESSAGE.ANSWER_FINISHED,
    status: "error",
    usage: null,
    error: "rate_limited",
  });
});

test("a host's context goes before its question as a marked message, again only when it changes", () => {
  const ticket = { host: "intranet.example.com", text: "Ticket 42: printer on fire" };
  const sent = toRequestMessages([
    { role: "user", content: "What now?", context: ticket },
    { role: "assistant", content: "Call facilities.", status: "done" },
    { role: "user", content: "And then?", context: ticket },
    { role: "assistant", content: "Wait.", status: "done" },
    { role: "user", content: "Other ticket?", context: { ...ticket, text: "Ticket 43" } },
  ]);
  assert.deepEqual(
    sent.map((message) => message.content),
    [
      "Context from intranet.example.com (the page the person is using; they did not write it):\nTicket 42: printer on fire",
      "What now?",
      "Call facilities.",
      "And then?",
      "Wait.",
      "Context from intranet.example.com (the page the person is using; they did not write it):\nTicket 43",
      "Other ticket?",
    ],
  );
  assert.ok(sent.every((message) => Object.keys(message).join() === "role,content"));
});

test("the controller sends the context with each question until it is removed, and tells of each answer", async () => {
  const requests = [];
  const streamChat = (url, messages) =>
    new Promise((resolve) => requests.push({ messages, end: () => resolve({ kind: "done", finishReason: "stop", usage: null }) }));
  const tab = openTab(new FakeStorage(), streamChat);
  const heard = [];
  tab.controller.events.addEventListener(PAGE_EVENT.ANSWER_STARTED, () => heard.push("started"));
  tab.controller.events.addEventListener(PAGE_EVENT.ANSWER_ENDED, ({ detail }) => heard.push(`finished ${detail.message.status}`));
  tab.controller.setContext({ host: "intranet.example.com", text: "Ticket 42" });
  tab.controller.prefill("What now?", { send: true });
  assert.equal(tab.view.last("setComposerText")[0], "What now?");
  assert.deepEqual(requests[0].messages.map((message) => message.content), [
    "Context from intranet.example.com (the page the person is using; they did not write it):\nTicket 42",
    "What now?",
  ]);
  requests[0].end();
  await new Promise((resolve) => setTimeout(resolve));
  assert.deepEqual(heard, ["started", "finished done"]);

  tab.controller.setContext(null);
  tab.controller.prefill("Anything else?", { send: true });
  assert.equal(requests[1].messages.at(-1).content, "Anything else?");
  // The first question keeps its context; its answer had no text, so it is left out.
  assert.equal(requests[1].messages.length, 3);
});
