import assert from "node:assert/strict";
import { test } from "node:test";

import { PAGE_EVENT } from "../../web/static/constants.js";
import { showUsage, usageLine } from "../../web/static/page/usage.js";

test("today's use without a quota", () => {
  assert.equal(usageLine({ today: { total_tokens: 12345 } }), "Today: 12,345 tokens");
  assert.equal(usageLine({ today: { total_tokens: 1 } }), "Today: 1 token");
  assert.equal(usageLine({ today: { total_tokens: 0 } }), null);
  assert.equal(usageLine({}), null);
});

test("with a daily quota: how much is used and when it renews, in plain words", () => {
  const quota = { limit: 100000, used: 2500, resets_at: "2026-11-26T06:30:00+00:00" };
  assert.equal(usageLine({ today: { total_tokens: 2500 }, quota }), "Today: 2,500 of 100,000 tokens · renews at 06:30 UTC");
  assert.equal(usageLine({ quota: { ...quota, used: 0 } }), "Today: 0 of 100,000 tokens · renews at 06:30 UTC");
  assert.equal(
    usageLine({ quota: { ...quota, used: 100200 } }),
    "Today's 100,000 tokens are used up; they renew at 06:30 UTC",
  );
});

test("the line is asked for when the page opens and again each time an answer ends, nowhere else", async () => {
  const element = { textContent: "", title: "", hidden: true };
  const root = { baseURI: "https://chat.test/assistant/", getElementById: (id) => (id === "usage-today" ? element : null) };
  const events = new EventTarget();
  const asked = [];
  let total = 0;
  const fetchUsage = async (url) => {
    asked.push(String(url));
    total += 1500;
    return { ok: true, json: async () => ({ today: { total_tokens: total } }) };
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  showUsage(root, events, { fetchUsage });
  await settle();
  assert.deepEqual(asked, ["https://chat.test/assistant/api/usage"]);
  assert.equal(element.textContent, "Today: 1,500 tokens");
  assert.equal(element.hidden, false);

  events.dispatchEvent(new CustomEvent(PAGE_EVENT.ANSWER_STARTED));
  await settle();
  assert.equal(asked.length, 1, "an answer that starts changes nothing yet");
  events.dispatchEvent(new CustomEvent(PAGE_EVENT.ANSWER_ENDED, { detail: { message: {} } }));
  await settle();
  assert.equal(asked.length, 2);
  assert.equal(element.textContent, "Today: 3,000 tokens");
});
