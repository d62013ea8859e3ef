// The page around the messages: the sidebar as a panel, the composer, the notices, the
// page's settings, and files to download. It draws what the controller tells it to and
// reports what the person does through the bind* methods. The conversation list is drawn by
// conversation-list.js, the bar above the messages by topbar.js.

import { KEY, formatNumber } from "../constants.js";
import { STORAGE_PROBLEM } from "../data/store.js";
import { element, qs } from "./helpers.js";

const STORAGE_WARNINGS = Object.freeze({
  [STORAGE_PROBLEM.FULL]:
    "This browser's storage is full: new messages are not saved. Export conversations, or delete some to make room.",
  [STORAGE_PROBLEM.BLOCKED]:
    "Conversations cannot be saved in this browser (storage is blocked); they last until this tab closes.",
});

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
    this.storageWarningText = qs("#storage-warning-text", root);
    this.storageExport = qs("#storage-export", root);
    this.search = qs("#conversation-search", root);
    this.newChatButton = qs("#new-chat", root);
    this.newChatTopButton = qs("#new-chat-top", root); // in the bar, for where the list is a closed panel
    this.sidebarToggle = qs("#sidebar-toggle", root);
    this.chat = qs("#chat", root);
    this.undoBar = qs("#undo-bar", root);
    this.undoText = qs("#undo-text", root);
    this.undoButton = qs("#undo-delete", root);

    this.sidebar = qs("#sidebar", root);
    this.skipLink = qs(".skip-link", root);

    this.sidebarToggle.addEventListener("click", () => this.setSidebarOpen(!this.isSidebarOpen()));
    // Where the list opens as a panel over the chat, a tap beside it (on the dimmed chat, inert
    // then, so the tap lands on the layout under it) closes it, and the toggle has focus again.
    root.addEventListener("click", (event) => {
      if (!this.isSidebarOpen() || !this.isSidebarPanel()) return;
      if (event.target instanceof Node && !this.sidebar.contains(event.target) && !this.sidebarToggle.contains(event.target)) {
        this.setSidebarOpen(false);
        this.sidebarToggle.focus();
      }
    });
    // A window that widens past the panel's width shows the list as a column: nothing is modal then.
    window.addEventListener("resize", () => {
      if (this.isSidebarOpen() && !this.isSidebarPanel()) this.setSidebarOpen(false);
    });
    // "Delete some to make room": the list, with its search box ready.
    qs("#storage-manage", root).addEventListener("click", () => {
      if (this.isSidebarPanel()) this.setSidebarOpen(true);
      this.search.focus();
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
      preset: data.preset ?? null, // the page's preset (?preset=NAME), which its conversations keep
    };
  }

  /** Whether the browser believes it has a network (false: offline for sure; true: maybe). */
  isOnline() {
    return navigator.onLine !== false;
  }

  // ---- events from the person -------------------------------------------------------

  bindSend(handler) {
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(this.input.value);
    });
    this.input.addEventListener("keydown", (event) => {
      // isComposing: Enter that confirms an IME composition must not send.
      if (event.key === KEY.ENTER && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
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
      // defaultPrevented: Esc already closed a menu, cancelled an edit or cleared the search.
      if (event.key !== KEY.ESCAPE || event.isComposing || event.defaultPrevented) return;
      if (this.isSidebarOpen()) {
        this.setSidebarOpen(false);
        this.sidebarToggle.focus();
        event.preventDefault(); // used: a framing host must not close the chat too (host-bridge.js)
      } else {
        if (this.body.classList.contains("is-streaming")) event.preventDefault();
        handler();
      }
    });
  }

  bindNewChat(handler) {
    for (const newChat of [this.newChatButton, this.newChatTopButton]) {
      newChat.addEventListener("click", () => {
        this.setSidebarOpen(false);
        handler();
      });
    }
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

  /** The browser has a network again. */
  bindOnline(handler) {
    window.addEventListener("online", () => handler());
  }

  /** The browser has lost its network. */
  bindOffline(handler) {
    window.addEventListener("offline", () => handler());
  }

  bindStorageExport(handler) {
    this.storageExport.addEventListener("click", () => handler());
  }

  // ---- the sidebar as a panel ---------------------------------------------------------

  isSidebarOpen() {
    return this.body.classList.contains("sidebar-open");
  }

  /** Whether the list is a panel over the chat (narrow screens, /embed) rather than a column beside it. */
  isSidebarPanel() {
    return this.sidebarToggle.checkVisibility();
  }

  /**
   * Open or close the list. As a panel it is a modal dialog: the chat under it is inert, so
   * neither Tab nor a screen reader's reading reaches the dimmed page; closed, it is a landmark.
   */
  setSidebarOpen(open) {
    const wasOpen = this.isSidebarOpen();
    const modal = open && this.isSidebarPanel();
    // Closed with focus inside (a conversation chosen, say): focus goes back to what opened it.
    const refocus = !open && wasOpen && this.chat.inert && this.sidebar.contains(document.activeElement);
    this.body.classList.toggle("sidebar-open", open);
    this.sidebarToggle.setAttribute("aria-expanded", String(open));
    this.sidebar.setAttribute("role", modal ? "dialog" : "navigation");
    this.sidebar.toggleAttribute("aria-modal", modal);
    if (modal) this.sidebar.setAttribute("aria-modal", "true");
    this.chat.inert = modal;
    this.skipLink.inert = modal;
    if (open && !wasOpen) this.newChatButton.focus();
    if (refocus) this.sidebarToggle.focus();
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

  /** Text put in the box for the person (by a framing host), as if typed. */
  setComposerText(text) {
    this.input.value = text;
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
    this.composerCount.textContent = near ? `${formatNumber(used)} / ${formatNumber(limit)}` : "";
    this.composerCount.classList.toggle("over-limit", limit > 0 && used > limit);
  }

  // ---- notices ----------------------------------------------------------------------

  showTrimNotice(dropped) {
    this.trimNotice.textContent =
      dropped === 1
        ? "The oldest message was left out: the conversation is longer than the server accepts."
        : `The ${formatNumber(dropped)} oldest messages were left out: the conversation is longer than the server accepts.`;
    this.trimNotice.hidden = false;
  }

  hideTrimNotice() {
    this.trimNotice.hidden = true;
  }

  /** While a broken answer is being followed again (server/resume.js). */
  showReconnecting(reconnecting) {
    if (!this.reconnectNotice) {
      this.reconnectNotice = this.trimNotice.ownerDocument.createElement("p");
      this.reconnectNotice.id = "reconnect-notice";
      this.reconnectNotice.className = "notice notice-trim";
      this.reconnectNotice.setAttribute("role", "status");
      this.reconnectNotice.textContent = "Reconnecting…";
      this.trimNotice.before(this.reconnectNotice);
    }
    this.reconnectNotice.hidden = !reconnecting;
  }

  /** @param {string|null} problem a STORAGE_PROBLEM, or null: saving works (again) */
  showStorageWarning(problem) {
    this.storageWarning.hidden = problem === null;
    this.storageWarning.dataset.problem = problem ?? "";
    if (problem) this.storageWarningText.textContent = STORAGE_WARNINGS[problem];
  }

  // ---- files ------------------------------------------------------------------------

  /** Hand a file to the browser to save: `{name, type, text}`. */
  download({ name, type, text }) {
    const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
    const link = element("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    // The download has its own copy once it started; the next task is late enough to let go.
    setTimeout(() => URL.revokeObjectURL(url));
  }
}
