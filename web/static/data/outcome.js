// An answer's outcome written into its turn: its status, and why it failed. Only the store's
// settleAnswer calls it (the store is the one writer of conversations). No DOM.

import { OUTCOME } from "../server/api.js";
import { TURN, isWithheld, withhold } from "./conversation.js";

/** Why a question never reached the server; the page answers each differently. */
export const UNREACHABLE = Object.freeze({
  OFFLINE: "offline", // the browser knows it has no network: sent again once it has
  SERVER: "unreachable", // the network is there but the server did not answer
});

const UNREACHABLE_TEXT = Object.freeze({
  [UNREACHABLE.OFFLINE]: "You are offline. The question is sent again when the connection is back.",
  [UNREACHABLE.SERVER]: "Could not reach the server. It may be restarting, or the network is down. Try again in a moment.",
});

/** Write an answer's outcome into its turn: its status, and why it failed. */
export function settle(message, outcome, { online = true } = {}) {
  switch (outcome.kind) {
    case OUTCOME.DONE:
      message.status = TURN.DONE;
      message.finishReason = outcome.finishReason;
      message.usage = outcome.usage;
      // The filter's verdict can come after the text was shown: take it all back.
      if (isWithheld(message)) withhold(message);
      break;
    case OUTCOME.ERROR:
      // Refused before the stream began: the question itself was the problem.
      message.status = outcome.code === "content_filter" && outcome.status === 400 ? TURN.REFUSED : TURN.ERROR;
      message.error = { code: outcome.code, message: outcome.message };
      if (outcome.retryAfter) message.retryAt = Date.now() + outcome.retryAfter * 1000;
      break;
    case OUTCOME.ABORTED:
      message.status = TURN.STOPPED;
      break;
    case OUTCOME.UNREACHABLE: {
      const code = online ? UNREACHABLE.SERVER : UNREACHABLE.OFFLINE;
      message.status = TURN.ERROR;
      message.error = { code, message: UNREACHABLE_TEXT[code] };
      break;
    }
    default:
      message.status = TURN.LOST;
      message.error = { code: "connection_lost", message: outcome.message ?? "" };
      break;
  }
}
