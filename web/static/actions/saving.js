// Keeping the conversations: a change saved at once, the browser's refusal shown, and while an
// answer is being written a save now and then, so that a reload keeps most of it.

export const SAVE_WHILE_STREAMING_MS = 1000;

export class Saving {
  /**
   * @param {{store: import("../data/store.js").ConversationStore, view: import("../page/view.js").View,
   *          whileStreamingMs?: number}} parts
   */
  constructor({ store, view, whileStreamingMs = SAVE_WHILE_STREAMING_MS }) {
    this.store = store;
    this.view = view;
    this.whileStreamingMs = whileStreamingMs;
    this.timer = 0;
  }

  /** Record a change to `conversation` (none: save all), and say if the browser refused it. */
  save(conversation = null) {
    if (conversation) this.store.touch(conversation);
    else this.store.save();
    this.report();
  }

  /** Show whether saving works (a full or blocked storage), after anything that may change it. */
  report() {
    this.view.showStorageWarning(this.store.problem);
  }

  /** Save all within a moment: many changes (the text of answers) make one write. */
  soon() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.save();
    }, this.whileStreamingMs);
  }
}
