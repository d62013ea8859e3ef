// The page around the messages: the conversation list and its panel, the composer, the
// notices, and the page's settings. It draws what the controller tells it to and reports
// what the person does through the bind* methods.

import { button, delegate, element, qs } from "./helpers.js";

const ENTER_KEY = "Enter";
const ESCAPE_KEY = "Escape";
const NUMBER_FORMAT = new Intl.NumberFormat();

export class View {
  constructor(root = document) {
    this.body = root.body;
    this.composer = qs("#composer", root);
    this.input = qs("#composer-input", root);
    this.sendButton = qs("#send", root);
    this.stopButton = qs("#stop", root);
    this.composerError = qs("#composer-error", root);
    this.composerBusy = qs("#composer-busy", root);
    this.composerCount = qs("#composer-count", root);
    this.trimNotice = qs("#trim-notice", root);
    this.storageWarning = qs("#storage-warning", root);
    this.conversationList = qs("#conversation-list", root);
    this.newChatButton = qs("#new-chat", root);
    this.sidebarToggle = qs("#sidebar-toggle", root);
    this.chat = qs("#chat", root);
    this.undoBar = qs("#undo-bar", root);
    this.undoText = qs("#undo-text", root);
    this.undoButton = qs("#undo-delete", root);
    this.deploymentSelect = qs("#deployment", root); // present only when there is a choice

    this.sidebarToggle.addEventListener("click", () => this.setSidebarOpen(!this.isSidebarOpen()));
    // Where the list opens as a panel over the chat, a tap beside it (on the dimmed chat) closes it.
    this.chat.addEventListener("click", (event) => {
      if (event.target === this.chat && this.isSidebarOpen()) this.setSidebarOpen(false);
    });
  }

  /** Page settings from <body data-...>: the server's limits (0: none). */
  settings() {
    const data = this.body.dataset;
    const int = (value) => {
      const number = Number.parseInt(value ?? "", 10);
      return Number.isFinite(number) && number > 0 ? number : 0;
    };
    return {
      maxMessages: int(data.maxMessages),
      maxMessageChars: int(data.maxMessageChars),
      maxTotalChars: int(data.maxTotalChars),
    };
  }

  /** The deployment the person picked, or null when the server offers only one. */
  selectedDeployment() {
    return this.deploymentSelect ? this.deploymentSelect.value : null;
  }

  // ---- events from the person -------------------------------------------------------

  bindSend(handler) {
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(this.input.value);
    });
    this.input.addEventListener("keydown", (event) => {
      // isComposing: Enter that confirms an IME composition must not send.
      if (event.key === ENTER_KEY && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        handler(this.input.value);
      }
    });
  }

  bindComposerInput(handler) {
    this.input.addEventListener("input", () => handler(this.input.value));
  }

  bindStop(handler) {
    this.stopButton.addEventListener("click", () => handler());
    document.addEventListener("keydown", (event) => {
      if (event.key !== ESCAPE_KEY || event.isComposing) return;
      if (this.isSidebarOpen()) {
        this.setSidebarOpen(false);
        this.sidebarToggle.focus();
      } else {
        handler();
      }
    });
  }

  bindNewChat(handler) {
    this.newChatButton.addEventListener("click", () => {
      this.setSidebarOpen(false);
      handler();
    });
  }

  bindSelectConversation(handler) {
    delegate(this.conversationList, "[data-action='open']", "click", (target) => {
      this.setSidebarOpen(false);
      handler(target.closest("[data-id]").dataset.id);
    });
  }

  bindDeleteConversation(handler) {
    delegate(this.conversationList, "[data-action='delete']", "click", (target) => {
      handler(target.closest("[data-id]").dataset.id);
    });
  }

  bindUndoDelete(handler) {
    this.undoButton.addEventListener("click", () => handler());
  }

  bindStorageChange(handler) {
    window.addEventListener("storage", (event) => handler(event.key));
  }

  bindPageHide(handler) {
    window.addEventListener("pagehide", () => handler());
  }

  // ---- conversation list ------------------------------------------------------------

  renderConversationList(conversations, activeId) {
    const items = conversations
      .filter((conversation) => conversation.messages.length > 0)
      .map((conversation) => {
        const item = element("li", "conversation-item");
        item.dataset.id = conversation.id;
        const open = button("conversation-open", conversation.title, "open");
        open.title = conversation.title;
        if (conversation.id === activeId) {
          item.classList.add("active");
          open.setAttribute("aria-current", "true");
        }
        const remove = button("conversation-delete", "×", "delete", `Delete conversation: ${conversation.title}`);
        remove.title = "Delete conversation";
        item.append(open, remove);
        return item;
      });
    this.conversationList.replaceChildren(...items);
  }

  isSidebarOpen() {
    return this.body.classList.contains("sidebar-open");
  }

  setSidebarOpen(open) {
    const wasOpen = this.isSidebarOpen();
    this.body.classList.toggle("sidebar-open", open);
    this.sidebarToggle.setAttribute("aria-expanded", String(open));
    if (open && !wasOpen) this.newChatButton.focus();
  }

  showUndo(title) {
    this.undoText.textContent = `Deleted “${title}”.`;
    this.undoBar.hidden = false;
    this.undoButton.focus(); // the focused delete button is gone; Undo is the next useful step
  }

  hideUndo() {
    this.undoBar.hidden = true;
  }

  // ---- composer ---------------------------------------------------------------------

  setStreaming(streaming) {
    // Keep keyboard focus on the button that takes the place of the focused one.
    const focusStop = streaming && document.activeElement === this.sendButton;
    const focusInput = !streaming && document.activeElement === this.stopButton;
    this.sendButton.hidden = streaming;
    this.stopButton.hidden = !streaming;
    if (focusStop) this.stopButton.focus();
    if (focusInput) this.input.focus();
    this.body.classList.toggle("is-streaming", streaming);
    if (!streaming) this.composerBusy.hidden = true;
  }

  /** Enter was pressed while an answer is being written: say why nothing was sent, and what to do. */
  showAnswerInProgress() {
    this.composerBusy.textContent =
      "An answer is still being written. Your message stays here: send it when the answer ends, or press Stop (Esc) to end the answer now.";
    this.composerBusy.hidden = false;
  }

  clearComposer() {
    this.input.value = "";
    this.showCharCount(0, 0);
  }

  focusComposer() {
    this.input.focus();
  }

  /**
   * On load, only with a mouse or touchpad: on a touch screen it would open the keyboard over the page.
   * Never in a frame: focus would leave the host page, scrolling it to the frame and taking its typing.
   */
  focusComposerIfFinePointer() {
    if (window.self !== window.top) return;
    if (window.matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  showComposerError(text) {
    this.composerError.textContent = text;
    this.composerError.hidden = false;
    this.input.setAttribute("aria-invalid", "true");
  }

  clearComposerError() {
    this.composerError.hidden = true;
    this.composerError.textContent = "";
    this.input.removeAttribute("aria-invalid");
  }

  /** Show "used / limit" once the message gets near the limit. */
  showCharCount(used, limit) {
    const near = limit > 0 && used >= limit * 0.8;
    this.composerCount.hidden = !near;
    this.composerCount.textContent = near ? `${NUMBER_FORMAT.format(used)} / ${NUMBER_FORMAT.format(limit)}` : "";
    this.composerCount.classList.toggle("over-limit", limit > 0 && used > limit);
  }

  // ---- notices ----------------------------------------------------------------------

  showTrimNotice(dropped) {
    this.trimNotice.textContent =
      dropped === 1
        ? "The oldest message was left out: the conversation is longer than the server accepts."
        : `The ${NUMBER_FORMAT.format(dropped)} oldest messages were left out: the conversation is longer than the server accepts.`;
    this.trimNotice.hidden = false;
  }

  hideTrimNotice() {
    this.trimNotice.hidden = true;
  }

  showStorageWarning() {
    this.storageWarning.hidden = false;
  }
}
