// The elements of one message: its article, its status line, its rendered markdown.
// Builds and returns nodes; placing them on the page is the message list's job.

import { formatNumber } from "../constants.js";
import { ROLE, TURN, contextLabel, isWithheld } from "../data/conversation.js";
import { countBidi, markBidi } from "../markup/bidi.js";
import { highlightLater } from "../markup/code-highlight.js";
import { markLinkHosts } from "../markup/link-hosts.js";
import { renderMarkdown } from "../markup/markdown.js";
import { typesetMath } from "../markup/math.js";
import { button, element, qs } from "../page/helpers.js";
import { ACTION, messageActions } from "./message-actions.js";

const FINISH_NOTES = Object.freeze({
  length: "Answer cut off at the length limit.",
});

const WITHHELD_NOTICE = "This answer was withheld by the content filter.";
const LOST_NOTICE = "Connection lost before the answer was complete.";

// How the server words a wait: "... Try again in 56 seconds." The page counts it down.
const RETRY_IN = /\s*Try again in \d+ seconds?\.?/;

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

/**
 * A finished message: the person's text as typed, or the answer rendered with its reasoning
 * (closed unless `reasoningOpen`) and its status line; then its actions (`last`: it is the
 * conversation's last turn). `drawContent: false` leaves the answer's text out: it is on the
 * page already, drawn while it streamed.
 */
export function messageElement(message, index, { reasoningOpen = false, drawContent = true, ...options } = {}) {
  const article = messageShell(message, index);
  const body = qs(".message-body", article);
  if (message.role === ROLE.ASSISTANT) {
    if (isWithheld(message)) {
      body.append(element("p", "message-withheld", WITHHELD_NOTICE));
    } else {
      if (message.reasoning) {
        const reasoning = reasoningSection(reasoningOpen);
        qs(".reasoning-body", reasoning).append(markdownFragment(message.reasoning));
        body.before(reasoning);
      }
      if (message.content !== "" && drawContent) body.append(markdownFragment(message.content));
    }
    article.append(statusFooter(message, options));
  } else {
    body.textContent = message.content;
    // What a framing host sent with the question is shown with it: nothing goes unseen.
    if (message.context) body.before(element("p", "message-context", `${contextLabel(message.context)}: ${message.context.text}`));
  }
  const actions = messageActions(message, options);
  if (actions) article.append(actions);
  return article;
}

/** The model's reasoning summary: a section the reader can open, above the answer. */
export function reasoningSection(open) {
  const details = element("details", "message-reasoning");
  details.open = open;
  details.append(element("summary", "reasoning-summary", "Thinking"), element("div", "reasoning-body markdown"));
  return details;
}

/**
 * Shown until the first token of the answer. "Thinking" is announced once; the seconds
 * that tick beside it are hidden from screen readers, which would otherwise read each one.
 */
export function thinkingIndicator() {
  const indicator = element("div", "typing-indicator");
  indicator.setAttribute("role", "status");
  indicator.setAttribute("aria-label", "Thinking");
  const dots = element("span", "typing-dots");
  dots.setAttribute("aria-hidden", "true");
  dots.append(element("span"), element("span"), element("span"));
  const elapsed = element("span", "thinking-elapsed");
  elapsed.setAttribute("aria-hidden", "true");
  indicator.append(dots, element("span", "thinking-label", "Thinking…"), elapsed);
  return indicator;
}

/** Whole seconds since `startedAt` as the indicator shows them; nothing in the first second. */
export function elapsedText(startedAt, now = Date.now()) {
  const seconds = Math.floor((now - startedAt) / 1000);
  return seconds >= 1 ? `${formatNumber(seconds)} s` : "";
}

/** "1,234 tokens", with the reasoning tokens among them when the model reports any. */
export function usageText(usage) {
  const total = `${formatNumber(usage.totalTokens)} tokens`;
  return usage.reasoningTokens > 0 ? `${total} (${formatNumber(usage.reasoningTokens)} reasoning)` : total;
}

/**
 * How the answer ended, its usage, and a Retry button when it can be retried (Edit instead
 * for a question the content filter refused: the same question would be refused again).
 * `announce: false` redraws an error without reading it out again (each second of a countdown).
 */
export function statusFooter(message, { retryable = false, retryWait = 0, announce = true } = {}) {
  const footer = element("div", "message-footer");
  const notes = statusNotes(message, retryable ? retryWait : 0, announce);
  if (notes.length > 0) {
    const status = element("p", "message-status");
    status.append(...notes);
    footer.append(status);
  }
  if (message.status === TURN.REFUSED) footer.append(button("retry-button", "Edit question", ACTION.EDIT));
  else if (retryable) footer.append(retryButton(retryWait));
  return footer;
}

/** The error as the server wrote it, with its wait counted down, or left out once it is over. */
function errorText(message, retryWait) {
  const text = message.error?.message || "Something went wrong.";
  if (!message.retryAt) return text;
  const seconds = retryWait === 1 ? "1 second" : `${formatNumber(retryWait)} seconds`;
  return text.replace(RETRY_IN, retryWait > 0 ? ` Try again in ${seconds}.` : "");
}

function statusNotes(message, retryWait, announce) {
  const notes = [];
  switch (message.status) {
    case TURN.STOPPED:
      notes.push(element("span", "status-note status-stopped", "Stopped"));
      break;
    case TURN.LOST:
    case TURN.ERROR:
    case TURN.REFUSED: {
      // An answer that ends in a failure is read out at once, however it failed.
      const text =
        message.status === TURN.LOST
          ? element("span", "status-note status-lost", message.error?.message || LOST_NOTICE)
          : element("span", "status-note status-error", errorText(message, retryWait));
      if (announce) text.setAttribute("role", "alert");
      notes.push(text);
      break;
    }
    default:
      break;
  }
  const finishNote = FINISH_NOTES[message.finishReason];
  if (finishNote) notes.push(element("span", "status-note status-finish", finishNote));
  if (message.usage) {
    const usage = element("span", "status-usage", usageText(message.usage));
    usage.title = `${formatNumber(message.usage.promptTokens)} prompt + ${formatNumber(message.usage.completionTokens)} completion tokens`;
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

const MAX_LABEL_CHARS = 80;

/** At most MAX_LABEL_CHARS of `text`, on one line. */
function shortLabel(text) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_LABEL_CHARS ? `${line.slice(0, MAX_LABEL_CHARS - 1)}…` : line;
}

/**
 * A box that may scroll sideways (code, a wide table): reachable by keyboard, so arrow keys
 * scroll it, and named for screen readers.
 */
function makeScrollable(node, label) {
  node.tabIndex = 0;
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", label);
}

/**
 * Markdown through the sanitizer; code blocks get a header with the language and a Copy
 * button and are coloured (unless `highlight` is false: the block still being written),
 * tables scroll, task-list boxes are named by their item, direction controls are shown (and
 * their effect kept to themselves), links show their host, formulas are typeset.
 */
export function markdownFragment(text, { highlight = true } = {}) {
  const fragment = renderMarkdown(text);
  for (const pre of fragment.querySelectorAll("pre")) {
    const code = qs("code", pre);
    const language = /^language-(.+)$/.exec(code?.className ?? "")?.[1] ?? "";
    const wrapper = element("div", "code-block");
    const header = element("div", "code-header");
    header.append(element("span", "code-language", language));
    const controls = countBidi(pre.textContent);
    if (controls > 0) {
      const what = controls === 1 ? "1 direction control" : `${controls} direction controls`;
      header.append(element("span", "code-bidi-warning", `Holds ${what} (marked), which can make code read in another order than it runs; Copy leaves them out`));
    }
    header.append(button("copy-code", "Copy", "copy-code", "Copy code"));
    pre.replaceWith(wrapper);
    wrapper.append(header, pre);
    makeScrollable(pre, language ? `Code, ${language}` : "Code");
    if (highlight && code && language) highlightLater(code);
  }
  for (const table of fragment.querySelectorAll("table")) {
    const wrapper = element("div", "table-scroll");
    const headings = [...table.querySelectorAll("thead th")].map((cell) => cell.textContent.trim());
    makeScrollable(wrapper, headings.some(Boolean) ? shortLabel(`Table: ${headings.join(", ")}`) : "Table");
    table.replaceWith(wrapper);
    wrapper.append(table);
  }
  for (const box of fragment.querySelectorAll("li input[type='checkbox']")) {
    const item = shortLabel(box.closest("li").textContent);
    box.setAttribute("aria-label", item || (box.checked ? "Done" : "To do"));
  }
  markBidi(fragment);
  markLinkHosts(fragment);
  typesetMath(fragment);
  return fragment;
}
