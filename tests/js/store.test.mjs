import { test } from "node:test";
import assert from "node:assert/strict";

import { ConversationStore, STORAGE_KEY } from "../../web/static/store.js";
import { FakeStorage } from "./fake-storage.mjs";

test("a conversation is stored once it has a message, and survives a reload", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  store.save();
  assert.deepEqual(JSON.parse(storage.getItem(STORAGE_KEY)).conversations, []);

  conversation.messages.push({ role: "user", content: "How do tides work?" });
  assert.equal(store.touch(conversation), true);
  const reloaded = new ConversationStore(storage);
  assert.equal(reloaded.list().length, 1);
  assert.equal(reloaded.list()[0].title, "How do tides work?");
  assert.deepEqual(reloaded.list()[0].messages, conversation.messages);
});

test("an answer that was streaming when the page closed comes back as lost", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "q" }, { role: "assistant", content: "part", status: "streaming" });
  store.touch(conversation);
  const [revived] = new ConversationStore(storage).list();
  assert.equal(revived.messages[1].status, "lost");
  assert.equal(revived.messages[1].content, "part");
});

test("reasoning survives a reload with its answer", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push(
    { role: "user", content: "q" },
    { role: "assistant", content: "a", status: "done", reasoning: "**Thought** about it" },
  );
  store.touch(conversation);
  const [revived] = new ConversationStore(storage).list();
  assert.equal(revived.messages[1].reasoning, "**Thought** about it");
});

test("a flagged answer stored with its text (by an older page) comes back without it", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push(
    { role: "user", content: "q" },
    { role: "assistant", content: "flagged", status: "done", finishReason: "content_filter", reasoning: "r", usage: null },
    { role: "assistant", content: "fine", status: "done", reasoning: 42 },
  );
  store.touch(conversation);
  const [revived] = new ConversationStore(storage).list();
  assert.deepEqual(revived.messages[1], { role: "assistant", content: "", status: "done", finishReason: "content_filter", usage: null });
  assert.equal("reasoning" in revived.messages[2], false, "reasoning that is not text is dropped");
});

test("newest conversation first", () => {
  const store = new ConversationStore(new FakeStorage());
  const first = store.create();
  first.messages.push({ role: "user", content: "first" });
  store.touch(first);
  const second = store.create();
  second.messages.push({ role: "user", content: "second" });
  store.touch(second);
  second.updatedAt = first.updatedAt + 1;
  store.sort();
  assert.deepEqual(store.list().map((c) => c.title), ["second", "first"]);
  first.updatedAt = second.updatedAt + 1;
  store.sort();
  assert.deepEqual(store.list().map((c) => c.title), ["first", "second"]);
});

test("remove and restore (undo)", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "keep me" });
  store.touch(conversation);
  const removed = store.remove(conversation.id);
  assert.equal(new ConversationStore(storage).list().length, 0);
  store.restore(removed);
  assert.equal(new ConversationStore(storage).list()[0].title, "keep me");
  assert.equal(store.remove("no-such-id"), null);
});

test("a full storage is reported, not thrown", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "x" });
  storage.full = true;
  assert.equal(store.touch(conversation), false);
});

test("corrupt or foreign data is ignored", () => {
  assert.deepEqual(new ConversationStore(new FakeStorage({ [STORAGE_KEY]: "{not json" })).list(), []);
  const mixed = JSON.stringify({
    conversations: [{ id: "a", messages: [{ role: "user", content: "ok" }] }, { id: 3 }, null, { id: "b", messages: [{ role: 1 }] }],
  });
  const store = new ConversationStore(new FakeStorage({ [STORAGE_KEY]: mixed }));
  assert.deepEqual(store.list().map((c) => c.id), ["a"]);
});

test("without any storage, conversations live in memory", () => {
  const store = new ConversationStore(null);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "x" });
  assert.equal(store.touch(conversation), true);
});

test("a reload keeps this tab's conversation that has no message yet, first", () => {
  const storage = new FakeStorage();
  const otherTab = new ConversationStore(storage);
  const store = new ConversationStore(storage);
  const draft = store.create();
  const stored = otherTab.create();
  stored.messages.push({ role: "user", content: "from the other tab" });
  otherTab.touch(stored);
  store.load();
  assert.deepEqual(store.list().map((c) => c.id), [draft.id, stored.id]);
});

test("which storage events concern the conversations", () => {
  const store = new ConversationStore(new FakeStorage());
  assert.equal(store.isChangedBy(STORAGE_KEY), true);
  assert.equal(store.isChangedBy(null), true); // the storage was cleared
  assert.equal(store.isChangedBy("something.else"), false);
});
