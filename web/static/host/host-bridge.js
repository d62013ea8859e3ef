// Talking with the page that frames the chat (the host), over postMessage. Only the window that
// frames this one, from an origin the server lists (CHAT_FRAME_ANCESTORS, CHAT_ALLOWED_ORIGINS),
// is heard; the chat posts only to that exact origin, never to "*". The shapes are in
// host-messages.js and the README ("The messaging API").

import { KEY, PAGE_EVENT } from "../constants.js";
import { CHAT_MESSAGE, HOST_MESSAGE, answerFinished, hostOrigins, isHostOrigin, originOf, readHostMessage } from "./host-messages.js";

export class HostBridge {
  /**
   * @param {{window: Window, allowed: string[], maxChars: number,
   *          controller: import("../actions/controller.js").Controller,
   *          theme: import("../page/theme.js").Theme, measured: Element[]}} parts
   *   `allowed`: the server's list of sources; `measured`: the elements whose size makes the content's height
   */
  constructor({ window: win, allowed, maxChars, controller, theme, measured }) {
    this.window = win;
    this.parent = win.parent;
    this.allowed = hostOrigins(allowed, win.location.origin);
    this.maxChars = maxChars;
    this.controller = controller;
    this.theme = theme;
    this.measured = measured;
    this.hostOrigin = null;
    this.height = 0;
  }

  /** Start listening, when framed; say "ready" now if the framing page's origin is known and listed. */
  start() {
    if (this.parent === this.window) return; // not framed: no host to talk to
    this.window.addEventListener("message", (event) => this.receive(event));
    this.window.addEventListener("keydown", (event) => {
      // The view closes a panel or stops an answer first and marks the key as used.
      if (event.key === KEY.ESCAPE && !event.defaultPrevented && !event.isComposing) this.post({ type: CHAT_MESSAGE.ESCAPE });
    });
    const framer = originOf(this.window.location.ancestorOrigins?.[0] ?? this.window.document.referrer);
    if (framer && isHostOrigin(framer, this.allowed)) this.connect(framer);
  }

  receive(event) {
    if (event.source !== this.parent || !isHostOrigin(event.origin, this.allowed)) {
      console.warn(`Chat: ignored a message from ${event.origin}: not the framing page, or not a listed origin.`);
      return;
    }
    if (this.hostOrigin !== null && event.origin !== this.hostOrigin) {
      console.warn(`Chat: ignored a message from ${event.origin}: the host is ${this.hostOrigin}.`);
      return;
    }
    const { message, problem } = readHostMessage(event.data, { maxChars: this.maxChars });
    if (!message) {
      console.warn(`Chat: ignored a message from ${event.origin}: ${problem}.`);
      return;
    }
    // No referrer (the host's policy withheld it): the first valid message names the host.
    if (this.hostOrigin === null) this.connect(event.origin);
    this.act(message, event.origin);
  }

  act(message, origin) {
    switch (message.type) {
      case HOST_MESSAGE.SET_CONTEXT:
        this.controller.setContext(message.text === "" ? null : { host: new URL(origin).host, text: message.text });
        break;
      case HOST_MESSAGE.PREFILL:
        this.controller.prefill(message.text, { send: message.send });
        break;
      case HOST_MESSAGE.NEW_CHAT:
        this.controller.newChat();
        break;
      case HOST_MESSAGE.SET_THEME:
        this.theme.set(message.theme);
        break;
      case HOST_MESSAGE.FOCUS:
        this.controller.focusComposer();
        break;
    }
  }

  connect(origin) {
    this.hostOrigin = origin;
    const { events } = this.controller;
    events.addEventListener(PAGE_EVENT.ANSWER_STARTED, () => this.post({ type: CHAT_MESSAGE.ANSWER_STARTED }));
    events.addEventListener(PAGE_EVENT.ANSWER_ENDED, ({ detail }) => this.post(answerFinished(detail.message)));
    events.addEventListener(PAGE_EVENT.CONTEXT_REMOVED, () => this.post({ type: CHAT_MESSAGE.CONTEXT_REMOVED }));
    this.post({ type: CHAT_MESSAGE.READY });
    const observer = new ResizeObserver(() => this.reportHeight());
    for (const element of this.measured) observer.observe(element);
  }

  /** The height the content needs, without the room the messages' scroller was given. */
  reportHeight() {
    const height = Math.ceil(this.measured.reduce((sum, element) => sum + element.getBoundingClientRect().height, 0));
    if (height === this.height) return;
    this.height = height;
    this.post({ type: CHAT_MESSAGE.RESIZE, height });
  }

  post(message) {
    if (this.hostOrigin) this.parent.postMessage(message, this.hostOrigin);
  }
}
