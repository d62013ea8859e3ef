// One answer through the real controller and store, with a fake page and a scripted
// streamChat: what is kept of it, what is drawn, and what later requests send.
import { test } from "node:test";
import assert from "node:assert/strict";

import { OUTCOME } from "../../web/static/server/api.js";
import { STORAGE_KEY } from "../../web/static/constants.js";
import { openTab } from "./fake-page.mjs";
import { FakeStorage } from "./fake-storage.mjs";

const USAGE = { promptTokens: 10, completionTokens: 90, totalTokens: 100, reasoningTokens: 64 };

/**
 * A streamChat that plays each script in turn: `reasoning` and `deltas` through the
 * callbacks, then the outcome. Records the messages of every request.
 */
function scriptedChat(...scripts) {
  const requests = [];
  const streamChat = async (url, messages, { onReasoning, onDelta }) => {
    requests.push(messages);
    const { reasoning = [], deltas = [], outcome } = scripts.shift();
    for (const text of reasoning) onReasoning(text);
    for (const text of deltas) onDelta(text);
    return outcome;
  };
  return { streamChat, requests };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const stored = (storage) => JSON.parse(storage.getItem(STORAGE_KEY)).conversations[0].messages;

test("reasoning is drawn and kept with its answer, and never sent back", async () => {
  const storage = new FakeStorage();
  const chat = scriptedChat(
    {
      reasoning: ["**Comparing** ", "train and plane"],
      deltas: ["Take ", "the train."],
      outcome: { kind: OUTCOME.DONE, finishReason: "stop", usage: USAGE },
    },
    { outcome: { kind: OUTCOME.DONE, finishReason: "stop", usage: null } },
  );
  const tab = openTab(storage, chat.streamChat);
  tab.send("Train or plane?");
  await settle();

  const drawn = tab.messageList.last("updateAnswer")[0];
  assert.equal(drawn.reasoning, "**Comparing** train and plane");
  assert.equal(drawn.content, "Take the train.");
  assert.deepEqual(stored(storage)[1], {
    role: "assistant",
    content: "Take the train.",
    reasoning: "**Comparing** train and plane",
    status: "done",
    finishReason: "stop",
    usage: USAGE,
  });

  tab.send("And back?");
  await settle();
  assert.deepEqual(chat.requests[1], [
    { role: "user", content: "Train or plane?" },
    { role: "assistant", content: "Take the train." },
    { role: "user", content: "And back?" },
  ]);
});

test("an answer flagged after its text was shown is withheld: not kept, not sent back", async () => {
  const storage = new FakeStorage();
  const chat = scriptedChat(
    {
      reasoning: ["thinking about it"],
      deltas: ["flagged ", "text"],
      outcome: { kind: OUTCOME.DONE, finishReason: "content_filter", usage: USAGE },
    },
    { deltas: ["fine"], outcome: { kind: OUTCOME.DONE, finishReason: "stop", usage: null } },
  );
  const tab = openTab(storage, chat.streamChat);
  tab.send("Tell me something");
  await settle();

  const [finished] = tab.messageList.last("finishAnswer");
  assert.deepEqual(finished, {
    role: "assistant",
    content: "",
    status: "done",
    finishReason: "content_filter",
    usage: USAGE,
  });
  assert.deepEqual(stored(storage)[1], finished);
  assert.doesNotMatch(storage.getItem(STORAGE_KEY), /flagged|thinking about it/);

  tab.send("Something else then");
  await settle();
  assert.deepEqual(chat.requests[1], [
    { role: "user", content: "Tell me something" },
    { role: "user", content: "Something else then" },
  ]);
});
