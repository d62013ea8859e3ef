// The chat on any page as a floating "Ask" button, from one tag:
//   <script src="https://chat.example.com/widget.js" data-preset="helpdesk" defer></script>
// A classic script (so it knows its own address through document.currentScript). It adds one global,
// ChatWidget, and one element whose shadow root holds everything it draws; its styles are
// constructed stylesheets there, never inline styles, so a strict host CSP holds. The panel frames
// /embed of the script's own origin and talks to it with the messaging API (README, "Embedding").

(() => {
  "use strict";
  if (window.ChatWidget) return; // the tag twice on a page: one button

  const script = document.currentScript;
  const scriptUrl = new URL(script.src);
  const chatOrigin = scriptUrl.origin;
  const embedUrl = new URL("embed", scriptUrl); // beside widget.js: works under a path prefix too
  if (script.dataset.preset) embedUrl.searchParams.set("preset", script.dataset.preset);
  const buttonText = script.dataset.label || "Ask";

  const PREFIX = "chat:v1:";
  const ESCAPE_KEY = "Escape";
  const HEADER_PX = 44;

  const STYLE = `
    :host { all: initial; --chat-height: 560px; }
    .ask {
      position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      padding: 10px 18px; border: 0; border-radius: 999px;
      background: #1a5fd0; color: #fff; font: 600 15px/1.2 system-ui, sans-serif;
      box-shadow: 0 4px 14px rgb(0 0 0 / 0.25); cursor: pointer;
    }
    .ask:focus-visible, .close:focus-visible { outline: 3px solid #8db8ff; outline-offset: 2px; }
    .panel {
      position: fixed; right: 20px; bottom: 76px; z-index: 2147483001;
      display: flex; flex-direction: column;
      width: min(420px, calc(100vw - 40px));
      border: 1px solid #d6d9df; border-radius: 12px; overflow: hidden;
      background: #fff; box-shadow: 0 12px 40px rgb(0 0 0 / 0.3);
      font: 14px/1.4 system-ui, sans-serif; color: #1b1d21;
    }
    .panel[hidden] { display: none; }
    .header {
      display: flex; align-items: center; justify-content: space-between;
      height: ${HEADER_PX}px; padding: 0 8px 0 14px; border-bottom: 1px solid #d6d9df; box-sizing: border-box;
    }
    .title { margin: 0; font-size: 15px; font-weight: 600; }
    .close {
      padding: 4px 10px; border: 1px solid #767b85; border-radius: 999px;
      background: #fff; color: inherit; font: inherit; cursor: pointer;
    }
    iframe {
      display: block; width: 100%; border: 0;
      height: clamp(320px, var(--chat-height), calc(100vh - 140px));
    }
  `;

  /** Something to tell the chat; kept until it says it is ready (or its page has loaded). */
  const queue = [];
  const listeners = new Map(); // short type ("answer-finished") → handlers
  let frame = null;
  let connected = false;

  const root = document.createElement("div");
  const shadow = root.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(STYLE);
  // The frame's height follows the chat's content through this rule, changed in the CSSOM.
  const sizeSheet = new CSSStyleSheet();
  sizeSheet.replaceSync(":host { --chat-height: 560px; }");
  shadow.adoptedStyleSheets = [sheet, sizeSheet];

  const make = (tag, attributes, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  };
  const button = make("button", { class: "ask", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false" }, buttonText);
  const panel = make("div", { class: "panel", role: "dialog", "aria-label": "Chat", hidden: "" });
  // Focus that leaves the panel's ends lands on these and is sent round to the other end.
  const firstGuard = make("span", { tabindex: "0", "data-guard": "first" });
  const lastGuard = make("span", { tabindex: "0", "data-guard": "last" });
  const header = make("div", { class: "header" });
  const closeButton = make("button", { class: "close", type: "button" }, "Close");
  header.append(make("p", { class: "title" }, "Chat"), closeButton);
  panel.append(firstGuard, header, lastGuard);
  shadow.append(button, panel);

  function ensureFrame() {
    if (frame) return;
    frame = make("iframe", { title: "Chat", src: embedUrl.href, allow: "clipboard-write" });
    // Chromium names the host to the chat itself; elsewhere, with no referrer, the first message does.
    frame.addEventListener("load", () => {
      if (!connected) post({ type: `${PREFIX}hello` }, { now: true });
    });
    lastGuard.before(frame);
  }

  function post(message, { now = false } = {}) {
    if (frame && (connected || now)) frame.contentWindow.postMessage(message, chatOrigin);
    else queue.push(message);
  }

  function isOpen() {
    return !panel.hidden;
  }

  function open() {
    ensureFrame();
    if (isOpen()) return;
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    frame.focus();
    post({ type: `${PREFIX}focus` });
  }

  /** @param {boolean} giveFocusBack false: a click elsewhere put focus where it wanted */
  function close(giveFocusBack = true) {
    if (!isOpen()) return;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (giveFocusBack) button.focus();
  }

  function emit(type, message) {
    for (const handler of listeners.get(type) ?? []) {
      try {
        handler(message);
      } catch (error) {
        window.reportError?.(error);
      }
    }
  }

  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || event.origin !== chatOrigin) return;
    const message = event.data;
    if (!message || typeof message.type !== "string" || !message.type.startsWith(PREFIX)) return;
    const type = message.type.slice(PREFIX.length);
    if (type === "ready") {
      connected = true;
      for (const waiting of queue.splice(0)) post(waiting);
    } else if (type === "resize" && Number.isFinite(message.height)) {
      sizeSheet.cssRules[0].style.setProperty("--chat-height", `${Math.ceil(message.height)}px`);
    } else if (type === "escape") {
      close();
    }
    emit(type, message);
  });

  button.addEventListener("click", () => (isOpen() ? close() : open()));
  closeButton.addEventListener("click", () => close());
  firstGuard.addEventListener("focus", () => frame.focus());
  lastGuard.addEventListener("focus", () => closeButton.focus());
  document.addEventListener("keydown", (event) => {
    if (event.key === ESCAPE_KEY && isOpen() && !event.defaultPrevented) close();
  });
  document.addEventListener(
    "pointerdown",
    (event) => {
      if (isOpen() && !event.composedPath().includes(root)) close(false);
    },
    true,
  );

  function mount() {
    document.body.append(root);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });

  const text = (value) => (typeof value === "string" ? value : String(value ?? ""));
  window.ChatWidget = Object.freeze({
    open,
    close: () => close(),
    /** Context sent with the next questions, shown to the person; "" or null removes it. */
    setContext: (value) => post({ type: `${PREFIX}set-context`, text: text(value) }),
    /** Open the chat and ask `question`. */
    ask: (question) => {
      open();
      post({ type: `${PREFIX}prefill`, text: text(question), send: true });
    },
    /** Open the chat with `question` in the box, for the person to send. */
    prefill: (question) => {
      open();
      post({ type: `${PREFIX}prefill`, text: text(question) });
    },
    newChat: () => post({ type: `${PREFIX}new-chat` }),
    /** "light", "dark" or "system". */
    setTheme: (theme) => post({ type: `${PREFIX}set-theme`, theme }),
    /** Hear the chat: "ready", "answer-started", "answer-finished", "resize", "context-removed". */
    on: (type, handler) => {
      listeners.set(type, [...(listeners.get(type) ?? []), handler]);
    },
  });
})();
