// Cross-tab sync: another tab writes the conversations, this tab's controller follows on
// the `storage` event. The other tab is a store of its own over the same storage; the
// page of this tab is faked (fake-page.mjs), and records what the controller last told it to draw.
import { test } from "node:test";
import assert from "node:assert/strict";

import { OUTCOME } from "../../web/static/server/api.js";
import { ConversationStore } from "../../web/static/data/store.js";
import { openTab } from "./fake-page.mjs";
import { FakeStorage } from "./fake-storage.mjs";

/** The other tab starts a conversation. */
function ask(otherTab, question) {
  const conversation = otherTab.create();
  conversation.messages.push({ role: "user", content: question });
  otherTab.touch(conversation);
  return conversation;
}

test("a conversation started in another tab is listed; the new chat open here stays open", () => {
  const storage = new FakeStorage();
  const tab = openTab(storage);
  const draft = tab.controller.active;
  assert.deepEqual(tab.shown(), []);

  ask(new ConversationStore(storage), "From the other tab");
  tab.storageEvent();
  assert.deepEqual(tab.listed(), ["From the other tab"]);
  assert.equal(tab.activeId(), draft.id);
  assert.equal(tab.controller.active, draft);
  assert.deepEqual(tab.shown(), []);
});

test("the open conversation shows what another tab added to it", () => {
  const storage = new FakeStorage();
  const otherTab = new ConversationStore(storage);
  const conversation = ask(otherTab, "How do tides work?");
  const tab = openTab(storage);
  assert.deepEqual(tab.shown(), ["How do tides work?"]);

  conversation.messages.push({ role: "assistant", content: "The moon.", status: "done" });
  otherTab.touch(conversation);
  tab.storageEvent();
  assert.equal(tab.activeId(), conversation.id);
  assert.deepEqual(tab.shown(), ["How do tides work?", "The moon."]);
});

test("deleted in another tab: the newest one left opens; storage cleared: a new chat", () => {
  const storage = new FakeStorage();
  const otherTab = new ConversationStore(storage);
  const older = ask(otherTab, "Older");
  const newer = ask(otherTab, "Newer");
  newer.updatedAt = older.updatedAt + 1; // both may have been written in the same millisecond
  otherTab.sort();
  otherTab.save();
  const tab = openTab(storage);
  assert.equal(tab.activeId(), newer.id);

  otherTab.remove(newer.id);
  tab.storageEvent();
  assert.equal(tab.activeId(), older.id);
  assert.deepEqual(tab.listed(), ["Older"]);

  storage.items.clear();
  tab.storageEvent(null); // what localStorage.clear() in another tab sends
  assert.deepEqual(tab.listed(), []);
  assert.deepEqual(tab.shown(), []);
  assert.notEqual(tab.activeId(), older.id);
});

test("a change under another key is not followed", () => {
  const storage = new FakeStorage();
  const otherTab = new ConversationStore(storage);
  ask(otherTab, "First");
  const tab = openTab(storage);
  const renders = tab.messageList.count("render");

  ask(otherTab, "Second");
  tab.storageEvent("some.other.key");
  assert.equal(tab.messageList.count("render"), renders);
  assert.deepEqual(tab.listed(), ["First"]);
  tab.storageEvent();
  assert.deepEqual(tab.listed().sort(), ["First", "Second"]);
});

test("while an answer streams here, changes elsewhere are not followed", async () => {
  const storage = new FakeStorage();
  const otherTab = new ConversationStore(storage);
  ask(otherTab, "First");
  let answer;
  const tab = openTab(storage, () => new Promise((resolve) => { answer = resolve; }));
  const renders = tab.messageList.count("render");
  tab.send("Still there?");
  assert.equal(tab.messageList.count("beginAnswer"), 1);
  const streaming = tab.controller.active;

  ask(otherTab, "Second");
  tab.storageEvent();
  assert.equal(tab.messageList.count("render"), renders);
  assert.equal(tab.controller.active, streaming);

  answer({ kind: OUTCOME.DONE, finishReason: "stop", usage: null });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(tab.messageList.count("finishAnswer"), 1);
  tab.storageEvent(); // once the answer has ended, the tab follows again
  assert.equal(tab.messageList.count("render"), renders + 1);
});
