// The person's actions through the real controller and store, with a fake page
// (fake-page.mjs) and a chat endpoint the test answers by hand.
import { test } from "node:test";
import assert from "node:assert/strict";

import { OUTCOME } from "../../web/static/server/api.js";
import { STORAGE_KEY } from "../../web/static/constants.js";
import { ConversationStore, STORAGE_PROBLEM } from "../../web/static/data/store.js";
import { openTab } from "./fake-page.mjs";
import { FakeStorage } from "./fake-storage.mjs";

const DONE = { kind: OUTCOME.DONE, finishReason: "stop", usage: null };
const REFUSED = {
  kind: OUTCOME.ERROR,
  code: "content_filter",
  message: "The prompt was blocked by the content filter.",
  retryAfter: null,
  status: 400,
};

/** A chat endpoint answered by the test: each request waits until the test writes and ends it. */
function handChat() {
  const requests = [];
  const streamChat = (url, messages, { signal, onDelta, deployment }) =>
    new Promise((resolve) => {
      const request = {
        messages,
        deployment,
        write: (text) => onDelta(text),
        end: (outcome = DONE) => resolve(outcome),
        get aborted() {
          return signal.aborted;
        },
      };
      signal.addEventListener("abort", () => resolve({ kind: OUTCOME.ABORTED }));
      requests.push(request);
    });
  return { streamChat, requests };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const contents = (conversation) => conversation.messages.map((message) => message.content);

async function answered(tab, chat, question, answer) {
  tab.send(question);
  chat.requests.at(-1).write(answer);
  chat.requests.at(-1).end();
  await settle();
}

test("a refused question offers Edit, not Retry, and is never sent with later questions", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat);
  await answered(tab, chat, "Fine question", "Fine answer.");
  tab.send("Blocked question");
  chat.requests.at(-1).end(REFUSED);
  await settle();

  const [message, , options] = tab.messageList.last("finishAnswer");
  assert.equal(message.status, "refused");
  assert.equal(options.retryable, false);
  tab.messageList.bound.bindRetry();
  assert.equal(chat.requests.length, 2, "Retry does nothing for a refused question");

  tab.send("Next question");
  assert.deepEqual(chat.requests.at(-1).messages, [
    { role: "user", content: "Fine question" },
    { role: "assistant", content: "Fine answer." },
    { role: "user", content: "Next question" },
  ]);
});

test("editing a question replaces it and every turn after it", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat);
  await answered(tab, chat, "First", "One.");
  await answered(tab, chat, "Second", "Two.");
  tab.messageList.bound.bindEdit(2, "  Second, better  ");
  assert.deepEqual(chat.requests.at(-1).messages, [
    { role: "user", content: "First" },
    { role: "assistant", content: "One." },
    { role: "user", content: "Second, better" },
  ]);
  assert.deepEqual(contents(tab.controller.active), ["First", "One.", "Second, better", ""]);

  chat.requests.at(-1).end();
  await settle();
  tab.messageList.bound.bindEdit(0, "   ");
  assert.equal(chat.requests.length, 3, "an empty edit sends nothing");
});

test("an edited question over the limit is refused where it is typed", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat, { settings: { maxMessages: 0, maxMessageChars: 5, maxTotalChars: 0 } });
  await answered(tab, chat, "Short", "Ok.");
  tab.messageList.bound.bindEdit(0, "Far too long");
  assert.equal(chat.requests.length, 1);
  const [index, error] = tab.messageList.last("showEditError");
  assert.equal(index, 0);
  assert.match(error, /12 characters long; the limit is 5/);
  assert.deepEqual(contents(tab.controller.active), ["Short", "Ok."]);
});

test("regenerate asks again for the last answer, also after Stop", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat);
  tab.send("Tell me a story");
  chat.requests[0].write("Once upon");
  tab.view.bound.bindStop();
  await settle();
  assert.equal(tab.controller.active.messages[1].status, "stopped");

  tab.messageList.bound.bindRegenerate(1);
  assert.deepEqual(chat.requests[1].messages, [{ role: "user", content: "Tell me a story" }]);
  chat.requests[1].write("A new story.");
  chat.requests[1].end();
  await settle();
  assert.deepEqual(contents(tab.controller.active), ["Tell me a story", "A new story."]);

  tab.messageList.bound.bindRegenerate(0);
  assert.equal(chat.requests.length, 2, "only an answer, and only the last one");
});

test("an answer stopped before its first word can be removed, and goes when the next question comes", async () => {
  const chat = handChat();
  const storage = new FakeStorage();
  const tab = openTab(storage, chat.streamChat);
  tab.send("First");
  tab.view.bound.bindStop();
  await settle();
  assert.deepEqual(contents(tab.controller.active), ["First", ""]);
  tab.messageList.bound.bindRemove(1);
  assert.deepEqual(contents(tab.controller.active), ["First"]);
  assert.deepEqual(JSON.parse(storage.getItem(STORAGE_KEY)).conversations[0].messages, [{ role: "user", content: "First" }]);

  tab.send("Second");
  tab.view.bound.bindStop();
  await settle();
  tab.send("Third");
  assert.deepEqual(contents(tab.controller.active), ["First", "Second", "Third", ""]);
});

test("an answer goes on in its own conversation while another is open, marked as answering", async () => {
  const chat = handChat();
  const storage = new FakeStorage();
  const tab = openTab(storage, chat.streamChat);
  tab.send("Long question");
  const first = tab.controller.active;
  chat.requests[0].write("Part one, ");

  tab.view.bound.bindNewChat();
  assert.notEqual(tab.controller.active, first);
  assert.equal(chat.requests[0].aborted, false, "New chat does not stop it");
  assert.deepEqual(tab.answering(), [first.id]);

  tab.send("Another question");
  assert.equal(chat.requests.length, 2, "the new chat asks at the same time");
  const second = tab.controller.active;
  assert.deepEqual(new Set(tab.answering()), new Set([first.id, second.id]));

  tab.conversationList.bound.bindSelect(first.id); // back to the first: its answer is drawn live
  const [messages, options] = tab.messageList.last("render");
  assert.equal(messages, first.messages);
  assert.equal(typeof options.streamingSince, "number");
  assert.deepEqual(tab.view.last("setStreaming"), [true]);

  chat.requests[0].write("part two.");
  assert.equal(tab.messageList.last("updateAnswer")[0].content, "Part one, part two.");
  chat.requests[0].end();
  await settle();
  assert.equal(first.messages[1].status, "done");
  assert.deepEqual(tab.answering(), [second.id]);

  tab.conversationList.bound.bindSelect(second.id);
  const finished = tab.messageList.count("finishAnswer");
  chat.requests[1].write("Meanwhile.");
  tab.conversationList.bound.bindStopAnswer(first.id); // nothing to stop there any more
  chat.requests[1].end();
  await settle();
  assert.equal(tab.messageList.count("finishAnswer"), finished + 1);
  const stored = JSON.parse(storage.getItem(STORAGE_KEY)).conversations;
  assert.deepEqual(stored.map((c) => c.messages.at(-1).content).sort(), ["Meanwhile.", "Part one, part two."]);
});

test("an answer in the background is stopped from the list, and drawn nowhere", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat);
  tab.send("Background");
  const first = tab.controller.active;
  tab.view.bound.bindNewChat();
  const finished = tab.messageList.count("finishAnswer");
  tab.conversationList.bound.bindStopAnswer(first.id);
  await settle();
  // Stopped before the server named it: shown stopped at once, its connection kept for the name
  // (to stop it on the server too), at most UNNAMED_STOP_WAIT_MS.
  assert.equal(chat.requests[0].aborted, false);
  assert.equal(first.messages[1].status, "stopped");
  assert.equal(tab.messageList.count("finishAnswer"), finished, "the open conversation is not drawn over");
  assert.deepEqual(tab.answering(), []);
});

test("offline, the question waits and is sent again once the browser is back online", async () => {
  let calls = 0;
  const streamChat = async () => {
    calls += 1;
    return calls === 1 ? { kind: OUTCOME.UNREACHABLE } : DONE;
  };
  const tab = openTab(new FakeStorage(), streamChat);
  tab.page.online = false;
  tab.send("Are you there?");
  await settle();
  const failed = tab.controller.active.messages[1];
  assert.deepEqual(failed.error.code, "offline");
  assert.match(failed.error.message, /offline.*sent again when the connection is back/);

  tab.page.online = true;
  tab.view.bound.bindOnline();
  await settle();
  assert.equal(calls, 2);
  assert.equal(tab.controller.active.messages.length, 2, "the failed turn was replaced");
  assert.equal(tab.controller.active.messages[1].status, "done");
});

test("a server that cannot be reached is said so, apart from a connection lost mid-answer", async () => {
  const outcomes = [{ kind: OUTCOME.UNREACHABLE }, { kind: OUTCOME.LOST, message: "Connection lost before the answer was complete." }];
  const tab = openTab(new FakeStorage(), async (url, messages, { onDelta }) => {
    if (outcomes.length === 1) onDelta("half");
    return outcomes.shift();
  });
  tab.send("First");
  await settle();
  assert.equal(tab.controller.active.messages[1].error.code, "unreachable");
  assert.match(tab.controller.active.messages[1].error.message, /^Could not reach the server/);
  tab.view.bound.bindOnline();
  await settle();
  assert.equal(tab.controller.active.messages.length, 2, "not retried by itself: the network was there");

  tab.messageList.bound.bindRetry();
  await settle();
  const lost = tab.controller.active.messages[1];
  assert.equal(lost.status, "lost");
  assert.equal(lost.content, "half");
  assert.equal(lost.error.message, "Connection lost before the answer was complete.");
});

test("Undo brings a deleted conversation back; it opens again only if it was open", async () => {
  const chat = handChat();
  const tab = openTab(new FakeStorage(), chat.streamChat);
  await answered(tab, chat, "Older", "a");
  tab.view.bound.bindNewChat();
  await answered(tab, chat, "Newer", "b");
  const newer = tab.controller.active;
  const older = tab.controller.store.list().find((c) => c.title === "Older");

  tab.conversationList.bound.bindDelete(older.id);
  tab.view.bound.bindUndoDelete();
  assert.equal(tab.controller.active, newer, "the open conversation stays open");
  assert.deepEqual(tab.listed().sort(), ["Newer", "Older"]);
  assert.deepEqual(tab.conversationList.last("focusConversation"), [older.id]);

  tab.conversationList.bound.bindDelete(newer.id);
  assert.equal(tab.controller.active, older);
  tab.view.bound.bindUndoDelete();
  assert.equal(tab.controller.active, newer, "it was open: it opens again");
  assert.deepEqual(tab.conversationList.last("focusConversation"), [newer.id]);
});

test("with the storage full, what is stored is listed, the page says so, and a delete makes room", async () => {
  const storage = new FakeStorage();
  const before = new ConversationStore(storage);
  for (const title of ["One", "Two"]) {
    const conversation = before.create();
    conversation.messages.push({ role: "user", content: title });
    before.touch(conversation);
  }
  storage.full = true;
  const chat = handChat();
  const tab = openTab(storage, chat.streamChat);
  assert.deepEqual(tab.listed().sort(), ["One", "Two"]);
  assert.deepEqual(tab.view.last("showStorageWarning"), [STORAGE_PROBLEM.FULL]);

  storage.full = false; // what deleting one frees, here all at once
  tab.conversationList.bound.bindDelete(tab.controller.store.list()[0].id);
  assert.deepEqual(tab.view.last("showStorageWarning"), [null]);
});

test("the model picked for a conversation is its own, across reloads; a new chat starts with the last one", async () => {
  const chat = handChat();
  const storage = new FakeStorage();
  const deployments = ["gpt-4o", "gpt-4o-mini"];
  const tab = openTab(storage, chat.streamChat, { deployments });
  tab.page.picked = "gpt-4o-mini";
  tab.topbar.bound.bindDeploymentChange("gpt-4o-mini");
  await answered(tab, chat, "Small model", "ok");
  assert.equal(chat.requests[0].deployment, "gpt-4o-mini");

  tab.view.bound.bindNewChat();
  assert.equal(tab.controller.active.deployment, "gpt-4o-mini");
  tab.page.picked = "gpt-4o";
  tab.topbar.bound.bindDeploymentChange("gpt-4o");
  await answered(tab, chat, "Big model", "ok");
  assert.equal(chat.requests[1].deployment, "gpt-4o");

  const reloaded = openTab(storage, handChat().streamChat, { deployments });
  const byTitle = Object.fromEntries(reloaded.controller.store.list().map((c) => [c.title, c.deployment]));
  assert.deepEqual(byTitle, { "Small model": "gpt-4o-mini", "Big model": "gpt-4o" });
  assert.equal(reloaded.topbar.last("showDeployment")[0].deployment, "gpt-4o");
});

test("rename, export and import go through the store and the page", async () => {
  const chat = handChat();
  const storage = new FakeStorage();
  const tab = openTab(storage, chat.streamChat);
  await answered(tab, chat, "Question", "Answer.");
  tab.topbar.bound.bindRename("My name for it");
  assert.equal(tab.topbar.last("showConversation")[0].title, "My name for it");
  assert.deepEqual(tab.listed(), ["My name for it"]);

  tab.topbar.bound.bindExport("markdown");
  const [markdown] = tab.view.last("download");
  assert.match(markdown.text, /^# My name for it\n/);
  tab.conversationList.bound.bindExportAll("json");
  const [json] = tab.view.last("download");

  const elsewhere = openTab(new FakeStorage(), handChat().streamChat);
  elsewhere.conversationList.bound.bindImport(json.text);
  assert.deepEqual(elsewhere.listed(), ["My name for it"]);
  assert.deepEqual(elsewhere.conversationList.last("showStatus"), ["Imported 1 conversation."]);
  elsewhere.conversationList.bound.bindImport(json.text);
  assert.deepEqual(elsewhere.conversationList.last("showStatus"), ["Imported 0 conversations. 1 conversation was already here."]);
  elsewhere.conversationList.bound.bindImport("{}");
  assert.match(elsewhere.conversationList.last("showStatus")[0], /no conversations exported from this page/);
});

test("a fault of the page while an answer is drawn ends the answer instead of leaving it open", async () => {
  const tab = openTab(new FakeStorage(), async (url, messages, { onDelta }) => {
    onDelta("text");
    return DONE;
  });
  const reported = [];
  globalThis.reportError = (error) => reported.push(error.message);
  const failing = () => {
    throw new Error("drawing failed");
  };
  tab.messageList.part.updateAnswer = failing;
  tab.send("Question");
  await settle();
  delete globalThis.reportError;
  assert.deepEqual(reported, ["drawing failed"]);
  assert.equal(tab.controller.active.messages[1].status, "lost");
  assert.deepEqual(tab.answering(), []);
});
