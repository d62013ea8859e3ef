// The bar above the messages: the open conversation's title (also the tab's), renaming it,
// its menu (rename, export) and the model it is answered by.

import { KEY } from "../constants.js";
import { qs } from "./helpers.js";
import { dropdownMenu } from "./menu.js";

const APP_NAME = "Chat";

export class Topbar {
  constructor(root = document) {
    this.document = root;
    this.title = qs("#conversation-title", root);
    this.renameForm = qs("#rename-form", root);
    this.renameInput = qs("#rename-input", root);
    this.menu = qs("#conversation-menu", root);
    this.deploymentSelect = qs("#deployment", root); // present only when there is a choice
    dropdownMenu(this.menu);
    qs("[data-action='rename']", this.menu).addEventListener("click", () => this.startRename());
  }

  /** Show the conversation's title here and in the tab; the menu only for one with messages. */
  showConversation(conversation) {
    const started = conversation.messages.length > 0;
    this.title.textContent = conversation.title;
    this.document.title = started ? `${conversation.title} – ${APP_NAME}` : APP_NAME;
    this.menu.hidden = !started;
    this.endRename();
  }

  // ---- renaming -----------------------------------------------------------------------

  /** `handler(title)` when the person has named the conversation (Enter, or leaving the box). */
  bindRename(handler) {
    const commit = () => {
      if (this.renameForm.hidden) return;
      const title = this.renameInput.value;
      this.endRename();
      handler(title);
    };
    this.renameForm.addEventListener("submit", (event) => {
      event.preventDefault();
      commit();
      qs("summary", this.menu).focus();
    });
    this.renameInput.addEventListener("blur", commit);
    this.renameInput.addEventListener("keydown", (event) => {
      if (event.key === KEY.ESCAPE && !event.isComposing) {
        event.preventDefault();
        this.endRename();
        qs("summary", this.menu).focus();
      } else if (event.key === KEY.ENTER && !event.isComposing) {
        event.preventDefault();
        this.renameForm.requestSubmit();
      }
    });
  }

  startRename() {
    this.renameInput.value = this.title.textContent;
    this.title.hidden = true;
    this.renameForm.hidden = false;
    this.renameInput.focus();
    this.renameInput.select();
  }

  endRename() {
    this.renameForm.hidden = true;
    this.title.hidden = false;
  }

  /** `handler(format)`: "json" or "markdown", for the open conversation. */
  bindExport(handler) {
    for (const item of this.menu.querySelectorAll("[data-export]")) {
      item.addEventListener("click", () => handler(item.dataset.export));
    }
  }

  // ---- the model ----------------------------------------------------------------------

  /** The deployment the person picked, or null when the server offers only one. */
  selectedDeployment() {
    return this.deploymentSelect ? this.deploymentSelect.value : null;
  }

  /** The deployment to answer `conversation` with: its own if still offered, else the default. */
  deploymentFor(conversation) {
    if (!this.deploymentSelect) return null;
    const options = Array.from(this.deploymentSelect.options, (option) => option.value);
    return options.includes(conversation.deployment) ? conversation.deployment : options[0];
  }

  showDeployment(conversation) {
    if (this.deploymentSelect) this.deploymentSelect.value = this.deploymentFor(conversation);
  }

  bindDeploymentChange(handler) {
    this.deploymentSelect?.addEventListener("change", () => handler(this.deploymentSelect.value));
  }
}
