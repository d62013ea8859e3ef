// The elements of one message: its article, its status line, its rendered markdown.
// Builds and returns nodes; placing them on the page is the message list's job.

import { ROLE, TURN } from "./conversation.js";
import { button, element, qs } from "./helpers.js";
import { renderMarkdown } from "./markdown.js";

const NUMBER_FORMAT = new Intl.NumberFormat();

const FINISH_NOTES = Object.freeze({
  length: "Answer cut off at the length limit.",
  content_filter: "The rest of the answer was withheld by the content filter.",
});

/** An article with the speaker's heading and an empty body. */
export function messageShell(message, index) {
  const article = element("article", `message message-${message.role}`);
  article.dataset.index = String(index);
  article.dataset.role = message.role;
  if (message.role === ROLE.ASSISTANT) article.dataset.status = message.status ?? TURN.DONE;
  const who = element("h2", "message-role visually-hidden", message.role === ROLE.USER ? "You" : "Assistant");
  const body = element("div", `message-body${message.role === ROLE.ASSISTANT ? " markdown" : ""}`);
  article.append(who, body);
  return article;
}

/** A finished message: the person's text as typed, or the answer rendered with its status line. */
export function messageElement(message, index, options) {
  const article = messageShell(message, index);
  const body = qs(".message-body", article);
  if (message.role === ROLE.ASSISTANT) {
    if (message.content !== "") body.append(markdownFragment(message.content));
    article.append(statusFooter(message, options));
  } else {
    body.textContent = message.content;
  }
  return article;
}

export function typingIndicator() {
  const typing = element("div", "typing-indicator");
  typing.setAttribute("role", "status");
  typing.setAttribute("aria-label", "Assistant is typing");
  typing.append(element("span"), element("span"), element("span"));
  return typing;
}

/** How the answer ended, its usage, and a Retry button when it can be retried. */
export function statusFooter(message, { retryable = false, retryWait = 0 } = {}) {
  const footer = element("div", "message-footer");
  const notes = statusNotes(message);
  if (notes.length > 0) {
    const status = element("p", "message-status");
    status.append(...notes);
    footer.append(status);
  }
  if (retryable) footer.append(retryButton(retryWait));
  return footer;
}

function statusNotes(message) {
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
  return notes;
}

function retryButton(retryWait) {
  const retry = button("retry-button", "Retry", "retry");
  if (retryWait > 0) {
    retry.disabled = true;
    retry.textContent = `Retry in ${retryWait} s`;
    retry.setAttribute("aria-label", "Retry (available shortly)");
  }
  return retry;
}

/** Markdown through the sanitizer; code blocks get a header with the language and a Copy button, tables scroll. */
export function markdownFragment(text) {
  const fragment = renderMarkdown(text);
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
