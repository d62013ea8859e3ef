// A fake page around the real controller and store: the parts of the page record what the
// controller tells them to draw and keep what it binds to them. Each part has exactly the
// methods of the real class it stands for, so a call to a method the page lacks throws here too.

import { Controller } from "../../web/static/actions/controller.js";
import { ConversationList } from "../../web/static/page/conversation-list.js";
import { MessageList } from "../../web/static/messages/message-list.js";
import { STORAGE_KEY } from "../../web/static/constants.js";
import { ConversationStore } from "../../web/static/data/store.js";
import { Topbar } from "../../web/static/page/topbar.js";
import { View } from "../../web/static/page/view.js";

const NO_LIMITS = { maxMessages: 0, maxMessageChars: 0, maxTotalChars: 0 };

// Short, so that no test waits for the page's timers: Undo is still offered right after a
// delete, and an answer's text is saved as it streams.
const DELAYS = { undoDeleteMs: 50, saveWhileStreamingMs: 10 };

/** The methods of a class, its own and those it inherits, without the constructor. */
function methodsOf(Real) {
  const names = new Set();
  for (let proto = Real.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (name !== "constructor" && typeof descriptor.value === "function") names.add(name);
    }
  }
  return names;
}

/**
 * A part of the page (view, top bar, lists) with the methods of `Real`: keeps what is bound to
 * it and what it is told to draw. `answers` gives what some of its methods return (others
 * return null); naming a method `Real` does not have is a mistake of the test.
 */
function fakePart(Real, answers = {}) {
  const names = methodsOf(Real);
  for (const name of Object.keys(answers)) {
    if (!names.has(name)) throw new TypeError(`${Real.name} has no method ${name}`);
  }
  const bound = {};
  const calls = [];
  const part = {};
  for (const name of names) {
    part[name] = (...args) => {
      if (name.startsWith("bind")) bound[name] = args[0];
      calls.push({ name, args });
      return name in answers ? answers[name](...args) : null;
    };
  }
  const last = (name) => calls.findLast((call) => call.name === name)?.args;
  const count = (name) => calls.filter((call) => call.name === name).length;
  return { part, bound, last, count };
}

/**
 * This tab: the real controller and store, over `storage`. `page.online` is what the browser
 * says of the network; `page.deployments` the models the page offers (none: no picker).
 */
export function openTab(storage, streamChat = () => new Promise(() => {}), { settings = NO_LIMITS, deployments = [] } = {}) {
  const page = { online: true, deployments, picked: deployments[0] ?? null };
  const view = fakePart(View, { isOnline: () => page.online });
  const topbar = fakePart(Topbar, {
    selectedDeployment: () => page.picked,
    deploymentFor: (conversation) =>
      deployments.length === 0 ? null : deployments.includes(conversation.deployment) ? conversation.deployment : deployments[0],
  });
  const conversationList = fakePart(ConversationList);
  const messageList = fakePart(MessageList);
  const controller = new Controller({
    store: new ConversationStore(storage),
    view: view.part,
    topbar: topbar.part,
    conversationList: conversationList.part,
    messageList: messageList.part,
    chatUrl: new URL("http://chat.test/api/chat"),
    settings,
    streamChat,
    delays: DELAYS,
  });
  controller.start();
  return {
    page,
    controller,
    view,
    topbar,
    conversationList,
    messageList,
    send: (text) => view.bound.bindSend(text),
    storageEvent: (key = STORAGE_KEY) => view.bound.bindStorageChange(key),
    listed: () => conversationList.last("render")[0].filter((c) => c.messages.length > 0).map((c) => c.title),
    activeId: () => conversationList.last("render")[1],
    answering: () => [...conversationList.last("render")[2]],
    shown: () => messageList.last("render")[0].map((message) => message.content),
  };
}
