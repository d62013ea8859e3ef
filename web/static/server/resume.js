// Coming back for a resumable answer whose connection broke: after a pause that grows with each
// try (cut short when the browser is online again), follow it from the last event the page has.
// No DOM; the caller says what to do with the text and when the page is reconnecting.

import { OUTCOME } from "./api.js";

/** Pauses before each try, in milliseconds; the last one repeats. */
export const RECONNECT_DELAYS_MS = Object.freeze([250, 500, 1000, 2000, 4000, 8000]);
const MAX_TRIES = 30; // beyond the server's resume window (30 s by default) at the longest pause

/**
 * @param {() => Promise<object>} follow one try: the outcome of following the answer (api.js followAnswer)
 * @param {{signal: AbortSignal, wake: (resolve: () => void) => () => void, isOnline: () => boolean,
 *          onReconnecting: (reconnecting: boolean) => void}} parts `wake(resolve)` calls `resolve` when the
 *   network is back, and returns how to stop listening; while offline, no try is made until then
 * @returns {Promise<object>} the answer's outcome: done, an error (answer_not_found once the server has
 *   dropped it), aborted, or lost after every try
 */
export async function resumeAnswer(follow, { signal, wake, isOnline = () => true, onReconnecting }) {
  let outcome = { kind: OUTCOME.LOST, message: "Connection lost before the answer was complete." };
  try {
    for (let tries = 0; tries < MAX_TRIES; tries += 1) {
      onReconnecting(true);
      const delay = isOnline() ? RECONNECT_DELAYS_MS[Math.min(tries, RECONNECT_DELAYS_MS.length - 1)] : null;
      await pause(delay, signal, wake);
      if (signal.aborted) return { kind: OUTCOME.ABORTED };
      outcome = await follow();
      if (outcome.kind !== OUTCOME.LOST && outcome.kind !== OUTCOME.UNREACHABLE) return outcome;
    }
    return outcome;
  } finally {
    onReconnecting(false);
  }
}

/** `ms` (null: until woken), cut short by `wake` or an abort. */
function pause(ms, signal, wake) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unwake();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = ms === null ? null : setTimeout(done, ms);
    const unwake = wake(done);
    signal.addEventListener("abort", done);
  });
}
