// Wiring: build the parts and start. Every URL is relative to the page, so the app
// works when it is mounted under a path prefix (e.g. /assistant/).

import { streamChat } from "./api.js";
import { Controller } from "./controller.js";
import { MessageList } from "./message-list.js";
import { ConversationStore } from "./store.js";
import { View } from "./view.js";

function browserStorage() {
  try {
    const storage = window.localStorage;
    const probe = "chat.probe";
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return storage;
  } catch {
    return null; // blocked (privacy settings): conversations last until the tab closes
  }
}

const view = new View(document);
const storage = browserStorage();
if (!storage) view.showStorageWarning();

const controller = new Controller({
  store: new ConversationStore(storage),
  view,
  messageList: new MessageList(document),
  chatUrl: new URL("api/chat", document.baseURI),
  settings: view.settings(),
  streamChat,
});
controller.start();
