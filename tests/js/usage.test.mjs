import assert from "node:assert/strict";
import { test } from "node:test";

import { usageLine } from "../../web/static/usage.js";

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
