// Export and import: the open conversation or all of them to a file (JSON to import again,
// Markdown to read), and the conversations of an exported file added to the list.

import { formatNumber } from "../constants.js";
import { ImportError, jsonExport, markdownExport, readExport } from "../data/history.js";

const EXPORTS = Object.freeze({ json: jsonExport, markdown: markdownExport });

export class Transfer {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, view: import("../page/view.js").View,
   *          topbar: import("../page/topbar.js").Topbar,
   *          conversationList: import("../page/conversation-list.js").ConversationList,
   *          saving: import("./saving.js").Saving, conversations: import("./conversations.js").Conversations}} parts
   */
  constructor({ store, view, topbar, conversationList, saving, conversations }) {
    this.store = store;
    this.view = view;
    this.conversationList = conversationList;
    this.saving = saving;
    this.conversations = conversations;

    view.bindStorageExport(() => this.exportAll("json"));
    conversationList.bindExportAll((format) => this.exportAll(format));
    conversationList.bindImport((text) => this.importFile(text));
    topbar.bindExport((format) => this.exportOpen(format));
  }

  /** The open conversation, "json" or "markdown". */
  exportOpen(format) {
    this.view.download(EXPORTS[format]([this.conversations.active]));
  }

  exportAll(format) {
    const started = this.store.list().filter((conversation) => conversation.messages.length > 0);
    if (started.length > 0) this.view.download(EXPORTS[format](started));
    else this.conversationList.showStatus("There is no conversation to export yet.");
  }

  importFile(text) {
    let conversations;
    try {
      conversations = readExport(text);
    } catch (error) {
      if (!(error instanceof ImportError)) throw error;
      this.conversationList.showStatus(error.message);
      return;
    }
    const { added, present } = this.store.add(conversations);
    this.saving.report();
    this.conversations.renderList();
    const count = (n) => (n === 1 ? "1 conversation" : `${formatNumber(n)} conversations`);
    const already = present === 0 ? "" : ` ${count(present)} ${present === 1 ? "was" : "were"} already here.`;
    this.conversationList.showStatus(`Imported ${count(added)}.${already}`);
  }
}
