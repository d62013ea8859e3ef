import { test } from "node:test";
import assert from "node:assert/strict";

import { STORAGE_KEY } from "../../web/static/constants.js";
import { ConversationStore, STORAGE_PROBLEM } from "../../web/static/data/store.js";
import { readConversations } from "../../web/static/data/stored.js";
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

test("a full storage still shows what it holds, and says it is full", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "kept from before" });
  store.touch(conversation);
  storage.full = true;

  const reloaded = new ConversationStore(storage);
  assert.deepEqual(reloaded.list().map((c) => c.title), ["kept from before"]);
  assert.equal(reloaded.problem, null, "reading needs no room");
  assert.equal(reloaded.checkWritable(), false);
  assert.equal(reloaded.problem, STORAGE_PROBLEM.FULL);
  storage.full = false;
  assert.equal(reloaded.save(), true);
  assert.equal(reloaded.problem, null);
  assert.equal(storage.getItem("chat.probe"), null, "the probe leaves nothing behind");
});

test("a storage that refuses for another reason is blocked, not full", () => {
  const storage = new FakeStorage();
  storage.setItem = () => {
    throw new DOMException("denied", "SecurityError");
  };
  const store = new ConversationStore(storage);
  assert.equal(store.checkWritable(), false);
  assert.equal(store.problem, STORAGE_PROBLEM.BLOCKED);
  assert.equal(new ConversationStore(null).problem, STORAGE_PROBLEM.BLOCKED);
});

test("a renamed conversation keeps its name as it grows, and after a reload", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.messages.push({ role: "user", content: "first question" });
  store.touch(conversation);
  store.rename(conversation, "  Tides   and moons ");
  conversation.messages.push({ role: "assistant", content: "a", status: "done" });
  store.touch(conversation);
  assert.equal(conversation.title, "Tides and moons");
  assert.equal(new ConversationStore(storage).list()[0].title, "Tides and moons");

  store.rename(conversation, " ");
  assert.equal(conversation.title, "first question", "an empty name gives the question's title back");
  assert.equal(new ConversationStore(storage).list()[0].renamed, undefined);
});

test("the model picked for a conversation is kept with it", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const conversation = store.create();
  conversation.deployment = "gpt-4o-mini";
  conversation.messages.push({ role: "user", content: "q" });
  store.touch(conversation);
  assert.equal(new ConversationStore(storage).list()[0].deployment, "gpt-4o-mini");
});

test("adding conversations (an import) leaves those already here as they are", () => {
  const storage = new FakeStorage();
  const store = new ConversationStore(storage);
  const here = store.create();
  here.messages.push({ role: "user", content: "mine" });
  store.touch(here);
  const copy = { ...here, title: "changed elsewhere", messages: [{ role: "user", content: "theirs" }] };
  const other = { id: "other", title: "other", createdAt: 1, updatedAt: 1, messages: [{ role: "user", content: "x" }] };
  const empty = { id: "empty", title: "", createdAt: 1, updatedAt: 1, messages: [] };
  assert.deepEqual(store.add([copy, other, empty]), { added: 1, present: 2 });
  const reloaded = new ConversationStore(storage);
  assert.deepEqual(reloaded.list().map((c) => c.title), ["mine", "other"]);
});

test("stored data is read field by field: odd values are left behind", () => {
  const stored = [
    {
      id: "a",
      title: "ok",
      extra: "<script>",
      messages: [
        { role: "user", content: "q", html: "<b>" },
        { role: "assistant", content: "a", status: "bogus", usage: { totalTokens: "many" }, error: { code: 1 } },
        { role: "assistant", content: "b", status: "done", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
        { role: "assistant", content: "half", status: "streaming" },
      ],
    },
    { id: "b", messages: [{ role: "wizard", content: "x" }] },
  ];
  const [read] = readConversations(stored);
  assert.equal(readConversations(stored).length, 1, "an unknown role makes the conversation unreadable");
  assert.deepEqual(read, {
    id: "a",
    title: "ok",
    createdAt: 0,
    updatedAt: 0,
    messages: [
      { role: "user", content: "q" },
      { role: "assistant", content: "a", usage: null },
      { role: "assistant", content: "b", status: "done", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
      {
        role: "assistant",
        content: "half",
        status: "lost",
        error: { code: "interrupted", message: "The page was closed before the answer was complete." },
      },
    ],
  });
  assert.deepEqual(readConversations("not a list"), []);
});
