// The host shown after a link's text: the real one, unless the text already names it.
import { test } from "node:test";
import assert from "node:assert/strict";

import { shownHost } from "../../web/static/markup/link-hosts.js";

const BASE = "https://chat.example.net/";

test("text that names another address shows the real host", () => {
  assert.equal(shownHost("https://bank.example", "https://evil.example/steal?d=secret", BASE), "evil.example");
  assert.equal(shownHost("bank.example", "https://evil.example/", BASE), "evil.example");
  assert.equal(shownHost("www.example.com", "https://example.com/", BASE), "example.com");
});

test("words show the host", () => {
  assert.equal(shownHost("the protocol", "https://example.com/protocol", BASE), "example.com");
  assert.equal(shownHost("click here", "http://user@example.org:8080/x", BASE), "example.org");
});

test("text that is the host, or an address on it, shows nothing more", () => {
  assert.equal(shownHost("example.com", "https://example.com/x", BASE), "");
  assert.equal(shownHost("https://example.com/docs/page", "https://example.com/docs/page", BASE), "");
  assert.equal(shownHost("EXAMPLE.com/path", "https://example.com/other", BASE), "");
});

test("look-alike hosts are shown as the browser reads them (punycode)", () => {
  assert.equal(shownHost("аpple.com", "https://xn--pple-43d.com/", BASE), "");
  assert.equal(shownHost("apple.com", "https://xn--pple-43d.com/", BASE), "xn--pple-43d.com");
});

test("mail and other schemes show the address, relative links the page's host", () => {
  assert.equal(shownHost("write to us", "mailto:help@example.com", BASE), "mailto:help@example.com");
  assert.equal(shownHost("help@example.com", "mailto:help@example.com", BASE), "");
  assert.equal(shownHost("settings", "/settings", BASE), "chat.example.net");
  assert.equal(shownHost("broken", "http://[::1", BASE), "");
});
