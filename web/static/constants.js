// What several of the page's modules must spell the same way: the storage keys, the keys of
// the keyboard the page answers, how a number is written, and the events its parts send.

/** localStorage: the conversations, and the key a write is tried under to see if there is room. */
export const STORAGE_KEY = "chat.conversations.v1";
export const PROBE_KEY = "chat.probe";

/** KeyboardEvent.key values. */
export const KEY = Object.freeze({ ENTER: "Enter", ESCAPE: "Escape" });

// The page's language (<html lang="en">): every number on it is written the same way.
const NUMBERS = new Intl.NumberFormat("en");

/** A number as the page writes it: 12,345. */
export function formatNumber(number) {
  return NUMBERS.format(number);
}

/**
 * What the controller's `events` tell the rest of the page (the usage line, a framing host).
 * ANSWER_ENDED's detail is `{conversation, message}`, whether the conversation is shown or not.
 */
export const PAGE_EVENT = Object.freeze({
  ANSWER_STARTED: "answer-started",
  ANSWER_ENDED: "answer-ended",
  CONTEXT_REMOVED: "context-removed",
});
