// The person's own use today, in one small line under the composer ("Today: 12,345 tokens"):
// asked of the server when the page opens and after each answer ends. It owns #usage-today
// only, and learns that an answer ended from the message list's aria-busy going back to false,
// so the rest of the page needs nothing from it.

const USAGE_URL = "api/usage"; // relative: the page may be mounted under a path prefix
const NUMBER = new Intl.NumberFormat("en-US");

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
      return `Today's ${NUMBER.format(quota.limit)} tokens are used up; they renew at ${time}`;
    }
    return `Today: ${NUMBER.format(quota.used)} of ${NUMBER.format(quota.limit)} tokens · renews at ${time}`;
  }
  const total = Number(usage?.today?.total_tokens);
  if (!Number.isFinite(total) || total <= 0) return null;
  return `Today: ${NUMBER.format(total)} ${total === 1 ? "token" : "tokens"}`;
}

async function refresh(element) {
  let usage;
  try {
    const response = await fetch(new URL(USAGE_URL, document.baseURI), {
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

/** Show today's use in `root`'s #usage-today, and keep it current after each answer. */
export function showUsage(root) {
  const element = root.getElementById?.("usage-today");
  const messages = root.getElementById?.("messages");
  if (!element || !messages) return;
  refresh(element);
  const answerEnded = (records) =>
    records.some((record) => record.oldValue === "true" && messages.getAttribute("aria-busy") === "false");
  new MutationObserver((records) => {
    if (answerEnded(records)) refresh(element);
  }).observe(messages, { attributes: true, attributeFilter: ["aria-busy"], attributeOldValue: true });
}

if (typeof document !== "undefined") showUsage(document);
