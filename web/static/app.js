// Wiring: build the parts and start. Every URL is relative to the page, so the app
// works when it is mounted under a path prefix (e.g. /assistant/).
//   actions/   what the person's actions do: asking, the conversation list, export and import
//   data/      conversations and their rules, the store that keeps (and alone changes) them; no DOM
//   server/    the chat request, its events, the answers being written; no DOM
//   page/      the page around the messages: composer, notices, sidebar, top bar, theme, usage
//   messages/  the open conversation's messages, the answer being streamed, their actions
//   markup/    markdown, code, formulas and links inside a message
//   host/      talking with a framing host (the messaging API)
//   constants.js  storage keys, keyboard keys, the number format, the page's events

import { Controller } from "./actions/controller.js";
import { STORAGE_KEY } from "./constants.js";
import { ConversationStore } from "./data/store.js";
import { HostBridge } from "./host/host-bridge.js";
import { MessageList } from "./messages/message-list.js";
import { ContextChip } from "./page/context-chip.js";
import { ConversationList } from "./page/conversation-list.js";
import { Theme } from "./page/theme.js";
import { Topbar } from "./page/topbar.js";
import { showUsage } from "./page/usage.js";
import { View } from "./page/view.js";
import { streamChat } from "./server/api.js";

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

// Room for the words that mark a host's context as such (conversation.js contextText).
const CONTEXT_MARK_CHARS = 200;

const view = new View(document);
const settings = view.settings();
const controller = new Controller({
  store: new ConversationStore(browserStorage()),
  view,
  topbar: new Topbar(document),
  conversationList: new ConversationList(document),
  messageList: new MessageList(document),
  chatUrl: new URL("api/chat", document.baseURI),
  settings,
  streamChat,
  contextChip: new ContextChip(document),
});
controller.start();
showUsage(document, controller.events); // today's use under the composer

// A preset's suggested prompts: one click asks.
for (const button of document.querySelectorAll("#suggested-prompts button[data-prompt]")) {
  button.addEventListener("click", () => controller.prefill(button.dataset.prompt ?? "", { send: true }));
}

// Framed by a listed host (`/embed` in an internal tool, widget.js): its messages, and ours to it.
const scroller = document.querySelector("#messages-scroller");
new HostBridge({
  window,
  allowed: (document.body.dataset.hostOrigins ?? "").split(" ").filter(Boolean),
  maxChars: settings.maxMessageChars > 0 ? Math.max(1, settings.maxMessageChars - CONTEXT_MARK_CHARS) : 0,
  controller,
  theme: new Theme(document),
  // The content's height: everything around the messages' scroller, and what is inside it.
  measured: [...document.querySelector("#chat").children].flatMap((part) => (part === scroller ? [...scroller.children] : [part])),
}).start();
