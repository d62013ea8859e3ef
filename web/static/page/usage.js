// The person's own use today, in one small line under the composer ("Today: 12,345 tokens"):
// asked of the server when the page opens and after each answer ends (the controller's
// PAGE_EVENT.ANSWER_ENDED). It owns #usage-today only, so the rest of the page needs nothing from it.

import { PAGE_EVENT, formatNumber } from "../constants.js";

const USAGE_URL = "api/usage"; // relative: the page may be mounted under a path prefix

/**
 * The line to show for a /api/usage answer, or null when there is nothing to show. With a daily
 * quota it says, in plain words, how much of it is used and when it renews.
 * @param {{today?: {total_tokens?: number}, quota?: {limit: number, used: number, resets_at: string}}} usage
 */
export function usageLine(usage) {
  const quota = usage?.quota;
  if (quota && Number.isFinite(quota.limit) && Number.isFinite(quota.used)) {
    const renews = new Date(quota.resets_at);
    const time = Number.isNaN(renews.getTime())
      ? "midnight UTC"
      : `${String(renews.getUTCHours()).padStart(2, "0")}:${String(renews.getUTCMinutes()).padStart(2, "0")} UTC`;
    if (quota.used >= quota.limit) {
      return `Today's ${formatNumber(quota.limit)} tokens are used up; they renew at ${time}`;
    }
    return `Today: ${formatNumber(quota.used)} of ${formatNumber(quota.limit)} tokens · renews at ${time}`;
  }
  const total = Number(usage?.today?.total_tokens);
  if (!Number.isFinite(total) || total <= 0) return null;
  return `Today: ${formatNumber(total)} ${total === 1 ? "token" : "tokens"}`;
}

async function refresh(element, url, fetchUsage) {
  let usage;
  try {
    const response = await fetchUsage(url, {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) return; // signed out, or a server without usage: say nothing new
    usage = await response.json();
  } catch {
    return; // offline for a moment: keep what is shown
  }
  const line = usageLine(usage);
  element.textContent = line ?? "";
  element.title = line ? "Tokens of your answers today (UTC), as the model service counts them" : "";
  element.hidden = line === null;
}

/**
 * Show today's use in `root`'s #usage-today, and keep it current after each answer that `events`
 * (the controller's) says has ended.
 * @param {Document} root
 * @param {EventTarget} events
 */
export function showUsage(root, events, { fetchUsage = (...args) => fetch(...args) } = {}) {
  const element = root.getElementById?.("usage-today");
  if (!element) return;
  const url = new URL(USAGE_URL, root.baseURI);
  refresh(element, url, fetchUsage);
  events.addEventListener(PAGE_EVENT.ANSWER_ENDED, () => refresh(element, url, fetchUsage));
}
