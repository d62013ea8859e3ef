// The conversation list in the sidebar: grouped by date, filtered by the search box, each
// conversation marked while it is answering (with its own Stop); exporting all of them and
// importing a file. It draws what the controller gives it and reports what the person does.

import { KEY } from "../constants.js";
import { groupByDate, searchConversations } from "../data/history.js";
import { button, delegate, element, qs } from "./helpers.js";
import { dropdownMenu } from "./menu.js";

export class ConversationList {
  constructor(root = document) {
    this.list = qs("#conversation-list", root);
    this.search = qs("#conversation-search", root);
    this.noMatch = qs("#search-empty", root);
    this.tools = qs("#history-tools", root);
    this.importInput = qs("#import-file", root);
    this.status = qs("#history-status", root);
    this.shown = { conversations: [], activeId: null, answering: new Set() };
    dropdownMenu(this.tools);
    qs("#import-button", root).addEventListener("click", () => this.importInput.click());
    this.search.addEventListener("input", () => this.draw());
    this.search.addEventListener("keydown", (event) => {
      if (event.key !== KEY.ESCAPE || this.search.value === "") return;
      event.preventDefault(); // clears the search; the page's Esc (stop an answer) is not meant
      this.search.value = "";
      this.draw();
    });
  }

  bindSelect(handler) {
    delegate(this.list, "[data-action='open']", "click", (target) => handler(idOf(target)));
  }

  bindDelete(handler) {
    delegate(this.list, "[data-action='delete']", "click", (target) => handler(idOf(target)));
  }

  bindStopAnswer(handler) {
    delegate(this.list, "[data-action='stop']", "click", (target) => handler(idOf(target)));
  }

  /** `handler(format)` to export every conversation, "json" or "markdown". */
  bindExportAll(handler) {
    for (const item of this.tools.querySelectorAll("[data-export]")) {
      item.addEventListener("click", () => handler(item.dataset.export));
    }
  }

  /** `handler(text)` with the text of the file the person chose to import. */
  bindImport(handler) {
    this.importInput.addEventListener("change", async () => {
      const [file] = this.importInput.files;
      this.importInput.value = ""; // the same file can be chosen again
      if (file) handler(await file.text());
    });
  }

  /** @param {Set<string>} answering ids of the conversations whose answer is being written */
  render(conversations, activeId, answering = new Set()) {
    this.shown = { conversations, activeId, answering };
    this.draw();
  }

  draw() {
    const { conversations, activeId, answering } = this.shown;
    const query = this.search.value.trim();
    const started = conversations.filter((conversation) => conversation.messages.length > 0);
    const found = searchConversations(started, query);
    const snippets = new Map(found.map(({ conversation, snippet }) => [conversation.id, snippet]));
    const groups = groupByDate(found.map(({ conversation }) => conversation)).map(({ label, conversations: members }, number) => {
      const group = element("li", "conversation-group");
      const heading = element("h3", "conversation-group-heading", label);
      heading.id = `conversation-group-${number}`;
      const items = element("ul", "conversation-group-items");
      items.setAttribute("aria-labelledby", heading.id);
      items.append(...members.map((conversation) =>
        conversationItem(conversation, {
          active: conversation.id === activeId,
          answering: answering.has(conversation.id),
          snippet: snippets.get(conversation.id),
        }),
      ));
      group.append(heading, items);
      return group;
    });
    const refocus = this.focusedControl();
    this.list.replaceChildren(...groups);
    refocus?.();
    this.noMatch.hidden = query === "" || found.length > 0;
  }

  // A redraw (an answer ended elsewhere) must not take the keyboard focus away from the list.
  focusedControl() {
    const focused = document.activeElement;
    if (!(focused instanceof HTMLElement) || !this.list.contains(focused)) return null;
    const id = idOf(focused);
    const action = focused.dataset.action;
    return () => {
      const again = this.list.querySelector(`[data-id="${CSS.escape(id)}"] [data-action="${action}"]`);
      (again ?? this.search).focus();
    };
  }

  /** Keyboard focus to one conversation (after Undo brought it back). */
  focusConversation(id) {
    this.list.querySelector(`[data-id="${CSS.escape(id)}"] [data-action="open"]`)?.focus();
  }

  /** Say how an import went (or why a file was not taken). */
  showStatus(text) {
    this.status.textContent = text;
    this.status.hidden = false;
  }
}

function idOf(node) {
  return node.closest("[data-id]").dataset.id;
}

function conversationItem(conversation, { active, answering, snippet }) {
  const item = element("li", "conversation-item");
  item.dataset.id = conversation.id;
  const open = button("conversation-open", undefined, "open");
  open.title = conversation.title;
  open.append(element("span", "conversation-title", conversation.title));
  // The lines under the title describe the conversation; its name stays its title.
  const described = [];
  const describe = (line, kind) => {
    line.id = `conversation-${kind}-${conversation.id}`;
    line.setAttribute("aria-hidden", "true");
    described.push(line.id);
    open.append(line);
  };
  if (snippet) describe(snippetLine(snippet), "snippet");
  if (answering) describe(element("span", "conversation-state", "Answering…"), "state");
  if (described.length > 0) open.setAttribute("aria-describedby", described.join(" "));
  if (active) {
    item.classList.add("active");
    open.setAttribute("aria-current", "true");
  }
  item.append(open);
  if (answering) {
    item.classList.add("answering");
    const stop = button("conversation-stop", "Stop", "stop", `Stop the answer: ${conversation.title}`);
    item.append(stop);
  }
  const remove = button("conversation-delete", "×", "delete", `Delete conversation: ${conversation.title}`);
  remove.title = "Delete conversation";
  item.append(remove);
  return item;
}

/** Where the search found its first word: the words around it, the match marked. */
function snippetLine({ before, match, after }) {
  const line = element("span", "conversation-snippet");
  line.append(before, element("mark", "", match), after);
  return line;
}
