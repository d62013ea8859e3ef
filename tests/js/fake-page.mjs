// A fake page around the real controller and store: the view and the message list record
// what the controller tells them to draw and keep what it binds to them.

import { Controller } from "../../web/static/controller.js";
import { ConversationStore, STORAGE_KEY } from "../../web/static/store.js";

const NO_LIMITS = { maxMessages: 0, maxMessageChars: 0, maxTotalChars: 0 };

/** A part of the page (view or message list): keeps what is bound to it and what it is told to draw. */
function fakePart() {
  const bound = {};
  const calls = [];
  const part = new Proxy({}, {
    get: (_, name) => (...args) => {
      if (name.startsWith("bind")) bound[name] = args[0];
      calls.push({ name, args });
      return null;
    },
  });
  const last = (name) => calls.findLast((call) => call.name === name)?.args;
  const count = (name) => calls.filter((call) => call.name === name).length;
  return { part, bound, last, count };
}

/** This tab: the real controller and store, over `storage`. */
export function openTab(storage, streamChat = () => new Promise(() => {})) {
  const view = fakePart();
  const messageList = fakePart();
  const controller = new Controller({
    store: new ConversationStore(storage),
    view: view.part,
    messageList: messageList.part,
    chatUrl: new URL("http://chat.test/api/chat"),
    settings: NO_LIMITS,
    streamChat,
  });
  controller.start();
  return {
    controller,
    messageList,
    send: (text) => view.bound.bindSend(text),
    storageEvent: (key = STORAGE_KEY) => view.bound.bindStorageChange(key),
    listed: () => view.last("renderConversationList")[0].filter((c) => c.messages.length > 0).map((c) => c.title),
    activeId: () => view.last("renderConversationList")[1],
    shown: () => messageList.last("render")[0].map((message) => message.content),
  };
}
