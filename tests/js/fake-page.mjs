// A fake page around the real controller and store: the parts of the page record what the
// controller tells them to draw and keep what it binds to them.

import { Controller } from "../../web/static/controller.js";
import { ConversationStore, STORAGE_KEY } from "../../web/static/store.js";

const NO_LIMITS = { maxMessages: 0, maxMessageChars: 0, maxTotalChars: 0 };

/**
 * A part of the page (view, top bar, lists): keeps what is bound to it and what it is told
 * to draw. `answers` gives what some of its methods return (others return null).
 */
function fakePart(answers = {}) {
  const bound = {};
  const calls = [];
  const part = new Proxy({}, {
    get: (_, name) => (...args) => {
      if (name.startsWith("bind")) bound[name] = args[0];
      calls.push({ name, args });
      return name in answers ? answers[name](...args) : null;
    },
  });
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
  const view = fakePart({ isOnline: () => page.online });
  const topbar = fakePart({
    selectedDeployment: () => page.picked,
    deploymentFor: (conversation) =>
      deployments.length === 0 ? null : deployments.includes(conversation.deployment) ? conversation.deployment : deployments[0],
  });
  const conversationList = fakePart();
  const messageList = fakePart();
  const controller = new Controller({
    store: new ConversationStore(storage),
    view: view.part,
    topbar: topbar.part,
    conversationList: conversationList.part,
    messageList: messageList.part,
    chatUrl: new URL("http://chat.test/api/chat"),
    settings,
    streamChat,
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
