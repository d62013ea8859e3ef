// The only module that touches the DOM. It renders what the controller tells it to and
// reports what the person does through the bind* methods. Model text reaches the page
// only through textContent or through renderMarkdown (sanitized).

import { renderMarkdown, splitCompletedBlocks } from "./markdown.js";
import { ROLE, TURN } from "./conversation.js";

export const ENTER_KEY = "Enter";
export const ESCAPE_KEY = "Escape";

// Within this distance of the bottom the list keeps following a streaming answer.
const FOLLOW_THRESHOLD_PX = 48;
const COPIED_FEEDBACK_MS = 1500;
const NUMBER_FORMAT = new Intl.NumberFormat();

const FINISH_NOTES = Object.freeze({
  length: "Answer cut off at the length limit.",
  content_filter: "The rest of the answer was withheld by the content filter.",
});

/** @param {string} selector @param {ParentNode} scope */
function qs(selector, scope = document) {
  return scope.querySelector(selector);
}

/** Listen on `target` for events from descendants matching `selector`. */
function delegate(target, selector, type, handler) {
  target.addEventListener(type, (event) => {
    const match = event.target instanceof Element ? event.target.closest(selector) : null;
    if (match && target.contains(match)) handler(match, event);
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className, text, action, label) {
  const node = element("button", className, text);
  node.type = "button";
  if (action) node.dataset.action = action;
  if (label) node.setAttribute("aria-label", label);
  return node;
}

export class View {
  constructor(root = document) {
    this.body = root.body;
    this.scroller = qs("#messages-scroller", root);
    this.messageList = qs("#messages", root);
    this.emptyState = qs("#empty-state", root);
    this.jumpButton = qs("#jump-latest", root);
    this.composer = qs("#composer", root);
    this.input = qs("#composer-input", root);
    this.sendButton = qs("#send", root);
    this.stopButton = qs("#stop", root);
    this.composerError = qs("#composer-error", root);
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
    this.deploymentSelect = root.querySelector("#deployment"); // present only when there is a choice

    this.live = null; // the assistant message being streamed
    this.followOutput = true;

    this.scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The list area shrinks when the composer grows or the keyboard opens: stay at the end.
    new ResizeObserver(() => {
      if (this.followOutput) this.scroller.scrollTop = this.scroller.scrollHeight;
    }).observe(this.scroller);
    this.jumpButton.addEventListener("click", () => this.scrollToLatest());
    this.sidebarToggle.addEventListener("click", () => this.setSidebarOpen(!this.isSidebarOpen()));
    // On narrow screens the open list covers the chat; a tap beside it closes it.
    this.chat.addEventListener("click", (event) => {
      if (event.target === this.chat && this.isSidebarOpen()) this.setSidebarOpen(false);
    });
    delegate(this.messageList, "[data-action='copy-code']", "click", (copyButton) => this.copyCode(copyButton));
  }

  /** Page settings from <body data-...>. */
  /** The deployment the person picked, or null when the server offers only one. */
  selectedDeployment() {
    return this.deploymentSelect ? this.deploymentSelect.value : null;
  }

  settings() {
    const data = this.body.dataset;
    const int = (value) => {
      const number = Number.parseInt(value ?? "", 10);
      return Number.isFinite(number) && number > 0 ? number : 0;
    };
    return {
      simulated: data.simulated === "true",
      maxMessages: int(data.maxMessages),
      maxMessageChars: int(data.maxMessageChars),
      maxTotalChars: int(data.maxTotalChars),
    };
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

  bindRetry(handler) {
    delegate(this.messageList, "[data-action='retry']", "click", () => handler());
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

  // ---- messages ---------------------------------------------------------------------

  /** Replace the whole list with a conversation's messages. */
  renderMessages(messages, { retryIndex = -1, retryWait = 0 } = {}) {
    this.cancelLiveFrame();
    this.live = null;
    const articles = messages.map((message, index) =>
      this.messageElement(message, index, { retryable: index === retryIndex, retryWait }),
    );
    this.messageList.replaceChildren(...articles);
    this.updateEmptyState();
    this.followOutput = true;
    this.scrollToLatest();
  }

  appendUserMessage(message, index) {
    this.messageList.append(this.messageElement(message, index, {}));
    this.updateEmptyState();
    this.followOutput = true;
    this.scrollToLatest();
  }

  /** Add the assistant turn that is about to stream, with a typing indicator. */
  beginAssistantMessage(message, index) {
    this.cancelLiveFrame();
    const article = this.messageShell(message, index);
    const body = qs(".message-body", article);
    const open = element("div", "markdown-open");
    const typing = element("div", "typing-indicator");
    typing.setAttribute("role", "status");
    typing.setAttribute("aria-label", "Assistant is typing");
    typing.append(element("span"), element("span"), element("span"));
    body.append(open, typing);
    this.messageList.append(article);
    this.messageList.setAttribute("aria-busy", "true");
    this.live = { article, body, open, typing, renderedUpTo: 0, text: "", frame: 0 };
    this.updateEmptyState();
    this.followOutput = true;
    this.scrollToLatest();
  }

  /** New text for the streaming answer; drawn at the next animation frame at most. */
  updateStreamingText(text) {
    const live = this.live;
    if (!live) return;
    live.text = text;
    if (!live.frame) live.frame = requestAnimationFrame(() => this.drawLiveFrame());
  }

  drawLiveFrame() {
    const live = this.live;
    if (!live) return;
    live.frame = 0;
    const text = live.text;
    // Finished blocks are rendered once and appended; only the open block is redrawn.
    const split = Math.max(splitCompletedBlocks(text), live.renderedUpTo);
    if (split > live.renderedUpTo) {
      const finished = this.decorate(renderMarkdown(text.slice(live.renderedUpTo, split)));
      live.body.insertBefore(finished, live.open);
      live.renderedUpTo = split;
    }
    live.open.replaceChildren(this.decorate(renderMarkdown(text.slice(split))));
    if (text !== "" && live.typing) {
      live.typing.remove();
      live.typing = null;
    }
    this.keepFollowing();
  }

  /** The streaming answer has ended: draw it whole, once, with its status. */
  finishAssistantMessage(message, index, { retryable = false, retryWait = 0 } = {}) {
    this.cancelLiveFrame();
    const replacement = this.messageElement(message, index, { retryable, retryWait });
    const current = this.live?.article ?? this.messageList.querySelector(`[data-index="${index}"]`);
    if (current) current.replaceWith(replacement);
    else this.messageList.append(replacement);
    this.live = null;
    this.messageList.setAttribute("aria-busy", "false");
    this.keepFollowing();
  }

  /** Redraw only the status line of one message (e.g. a retry countdown). */
  updateMessageStatus(message, index, { retryable = false, retryWait = 0 } = {}) {
    const article = this.messageList.querySelector(`[data-index="${index}"]`);
    if (!article) return;
    const hadFocus = article.contains(document.activeElement);
    const footer = this.statusFooter(message, { retryable, retryWait });
    qs(".message-footer", article).replaceWith(footer);
    if (hadFocus) qs(".retry-button", footer)?.focus();
  }

  /** Remove the last message element (a failed turn about to be retried). */
  removeMessage(index) {
    this.messageList.querySelector(`[data-index="${index}"]`)?.remove();
    this.updateEmptyState();
  }

  cancelLiveFrame() {
    if (this.live?.frame) {
      cancelAnimationFrame(this.live.frame);
      this.live.frame = 0;
    }
  }

  messageShell(message, index) {
    const article = element("article", `message message-${message.role}`);
    article.dataset.index = String(index);
    article.dataset.role = message.role;
    if (message.role === ROLE.ASSISTANT) article.dataset.status = message.status ?? TURN.DONE;
    const who = element("h2", "message-role visually-hidden", message.role === ROLE.USER ? "You" : "Assistant");
    const body = element("div", `message-body${message.role === ROLE.ASSISTANT ? " markdown" : ""}`);
    article.append(who, body);
    return article;
  }

  messageElement(message, index, options) {
    const article = this.messageShell(message, index);
    const body = qs(".message-body", article);
    if (message.role === ROLE.ASSISTANT) {
      if (message.content !== "") body.append(this.decorate(renderMarkdown(message.content)));
      article.append(this.statusFooter(message, options));
    } else {
      body.textContent = message.content; // the person's own text, shown as typed
    }
    return article;
  }

  statusFooter(message, { retryable = false, retryWait = 0 } = {}) {
    const footer = element("div", "message-footer");
    const status = element("p", "message-status");
    const notes = [];
    switch (message.status) {
      case TURN.STOPPED:
        notes.push(element("span", "status-note status-stopped", "Stopped"));
        break;
      case TURN.LOST:
        notes.push(element("span", "status-note status-lost", message.error?.message ? `Connection lost. ${message.error.message}` : "Connection lost."));
        break;
      case TURN.ERROR: {
        const text = element("span", "status-note status-error", message.error?.message ?? "Something went wrong.");
        text.setAttribute("role", "alert");
        notes.push(text);
        break;
      }
      default:
        break;
    }
    const finishNote = FINISH_NOTES[message.finishReason];
    if (finishNote) notes.push(element("span", "status-note status-finish", finishNote));
    if (message.usage) {
      const usage = element("span", "status-usage", `${NUMBER_FORMAT.format(message.usage.totalTokens)} tokens`);
      usage.title = `${NUMBER_FORMAT.format(message.usage.promptTokens)} prompt + ${NUMBER_FORMAT.format(message.usage.completionTokens)} completion tokens`;
      notes.push(usage);
    }
    status.append(...notes);
    if (notes.length > 0) footer.append(status);
    if (retryable) {
      const retry = button("retry-button", "Retry", "retry");
      if (retryWait > 0) {
        retry.disabled = true;
        retry.textContent = `Retry in ${retryWait} s`;
        retry.setAttribute("aria-label", "Retry (available shortly)");
      }
      footer.append(retry);
    }
    return footer;
  }

  /** Code blocks get a header with the language and a Copy button; tables scroll. */
  decorate(fragment) {
    for (const pre of fragment.querySelectorAll("pre")) {
      const code = qs("code", pre);
      const language = /^language-(.+)$/.exec(code?.className ?? "")?.[1] ?? "";
      const wrapper = element("div", "code-block");
      const header = element("div", "code-header");
      header.append(element("span", "code-language", language), button("copy-code", "Copy", "copy-code", "Copy code"));
      pre.replaceWith(wrapper);
      wrapper.append(header, pre);
    }
    for (const table of fragment.querySelectorAll("table")) {
      const wrapper = element("div", "table-scroll");
      wrapper.tabIndex = 0;
      wrapper.setAttribute("role", "region");
      wrapper.setAttribute("aria-label", "Table");
      table.replaceWith(wrapper);
      wrapper.append(table);
    }
    return fragment;
  }

  async copyCode(copyButton) {
    const code = copyButton.closest(".code-block")?.querySelector("pre");
    if (!code) return;
    const text = code.textContent;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      copied = this.copyWithSelection(text);
    }
    copyButton.textContent = copied ? "Copied" : "Copy failed";
    setTimeout(() => {
      copyButton.textContent = "Copy";
    }, COPIED_FEEDBACK_MS);
  }

  // Older browsers, or a page not served over https/localhost: no async clipboard.
  copyWithSelection(text) {
    const area = element("textarea", "clipboard-fallback");
    area.value = text;
    area.setAttribute("readonly", "");
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }

  updateEmptyState() {
    this.emptyState.hidden = this.messageList.childElementCount > 0;
  }

  // ---- scrolling --------------------------------------------------------------------

  distanceFromBottom() {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
  }

  onScroll() {
    this.followOutput = this.distanceFromBottom() <= FOLLOW_THRESHOLD_PX;
    this.jumpButton.hidden = this.followOutput;
  }

  keepFollowing() {
    if (this.followOutput) this.scroller.scrollTop = this.scroller.scrollHeight;
    else this.jumpButton.hidden = false;
  }

  scrollToLatest() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.followOutput = true;
    this.jumpButton.hidden = true;
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
    if (!streaming) this.messageList.setAttribute("aria-busy", "false");
  }

  composerText() {
    return this.input.value;
  }

  clearComposer() {
    this.input.value = "";
    this.showCharCount(0, 0);
  }

  focusComposer() {
    this.input.focus();
  }

  /** On load, only with a mouse or touchpad: on a touch screen it would open the keyboard over the page. */
  focusComposerIfFinePointer() {
    if (window.matchMedia("(pointer: fine)").matches) this.input.focus();
  }

  isComposerFocused() {
    return document.activeElement === this.input;
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
