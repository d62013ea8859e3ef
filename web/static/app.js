// Wiring: build the parts and start. Every URL is relative to the page, so the app
// works when it is mounted under a path prefix (e.g. /assistant/).

import { streamChat } from "./api.js";
import { Controller } from "./controller.js";
import { ConversationList } from "./conversation-list.js";
import { MessageList } from "./message-list.js";
import { ConversationStore, STORAGE_KEY } from "./store.js";
import { Topbar } from "./topbar.js";
import { View } from "./view.js";
import "./usage.js"; // today's use under the composer; it wires itself

// Only a read here: a full storage still shows what it holds (the store finds out, on its
// first write, that there is no room for more).
function browserStorage() {
  try {
    const storage = window.localStorage;
    storage.getItem(STORAGE_KEY);
    return storage;
  } catch {
    return null; // blocked (privacy settings): conversations last until the tab closes
  }
}

const view = new View(document);
const controller = new Controller({
  store: new ConversationStore(browserStorage()),
  view,
  topbar: new Topbar(document),
  conversationList: new ConversationList(document),
  messageList: new MessageList(document),
  chatUrl: new URL("api/chat", document.baseURI),
  settings: view.settings(),
  streamChat,
});
controller.start();
