// The wait before a failed answer may be asked again (the server said how long), counted down
// on its turn each second while its conversation is shown.

import { isRetryable, retryWait } from "../data/conversation.js";

const TICK_MS = 1000;

export class RetryCountdown {
  /**
   * @param {{messageList: import("../messages/message-list.js").MessageList,
   *          isShown: (conversation: object) => boolean}} parts
   */
  constructor({ messageList, isShown }) {
    this.messageList = messageList;
    this.isShown = isShown;
    this.timer = 0;
  }

  /** Count down on the failed turn at `index` of `conversation`. */
  start(conversation, index) {
    this.stop();
    const tick = () => {
      const message = conversation.messages[index];
      if (!this.isShown(conversation) || !isRetryable(conversation, index)) {
        this.stop();
        return;
      }
      const wait = retryWait(message);
      this.messageList.updateStatus(message, index, { retryable: true, retryWait: wait });
      if (wait === 0) this.stop();
    };
    this.timer = setInterval(tick, TICK_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }
}
