// The actions of one message, shown on hover and focus: copy it; edit a question and send
// it again; ask again for the last answer; remove an answer stopped before its first word.
// Builds nodes only; the message list places them and reports the clicks.

import { ROLE, TURN, isWithheld } from "../data/conversation.js";
import { button, element } from "../page/helpers.js";

export const ACTION = Object.freeze({
  COPY: "copy-message",
  EDIT: "edit",
  REGENERATE: "regenerate",
  REMOVE: "remove",
  CANCEL_EDIT: "cancel-edit",
});

// Offered on the last turn only: once another question follows, they are taken away.
const LAST_ONLY = "last-only";

/** An answer that was stopped before it said anything: nothing to keep, nothing sent. */
export function isEmptyStop(message) {
  return message.status === TURN.STOPPED && message.content === "" && !message.reasoning;
}

function action(text, name, label, lastOnly = false) {
  return button(`message-action${lastOnly ? ` ${LAST_ONLY}` : ""}`, text, name, label);
}

/** The actions bar of a message, or null when it has none. `last`: the conversation's last turn. */
export function messageActions(message, { last = false } = {}) {
  const bar = element("div", "message-actions");
  if (message.role === ROLE.USER) {
    bar.append(action("Copy", ACTION.COPY, "Copy question"), action("Edit", ACTION.EDIT, "Edit question"));
  } else if (message.role === ROLE.ASSISTANT) {
    if (message.content !== "" && !isWithheld(message)) bar.append(action("Copy", ACTION.COPY, "Copy answer"));
    const finished = message.status === TURN.DONE || message.status === TURN.STOPPED || message.status === undefined;
    if (last && finished) bar.append(action("Regenerate", ACTION.REGENERATE, "Regenerate answer", true));
    if (last && isEmptyStop(message)) bar.append(action("Remove", ACTION.REMOVE, "Remove this empty answer", true));
  }
  return bar.childElementCount > 0 ? bar : null;
}

/** Take away the actions that only the last turn has (a new question is being added). */
export function removeLastOnlyActions(list) {
  for (const node of list.querySelectorAll(`.${LAST_ONLY}`)) node.remove();
}

/** The form that takes a question's place while the person edits it. */
export function editForm(text) {
  const form = element("form", "edit-form");
  form.noValidate = true;
  const input = element("textarea", "edit-input");
  input.value = text;
  input.rows = 3;
  input.setAttribute("aria-label", "Edit your question");
  const error = element("p", "edit-error");
  error.setAttribute("role", "alert");
  error.hidden = true;
  const send = element("button", "edit-send", "Send");
  send.type = "submit";
  const buttons = element("div", "edit-buttons");
  buttons.append(button("edit-cancel", "Cancel", ACTION.CANCEL_EDIT), send);
  form.append(input, error, buttons);
  return form;
}
