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
  assert.equal(shownHost("apple.com", "https://xn--pple-43d.com/", BASE), "xn--pple-43d.com");
});

test("a host that is not plain ASCII is shown in punycode even when the text names it", () => {
  // The attack: the text and the target are the same look-alike (Cyrillic а), so the text
  // "names the host" and no label was shown: the reader saw "bаnk.example" and nothing else.
  assert.equal(shownHost("bаnk.example", "https://bаnk.example/sign-in", BASE), "xn--bnk-6cd.example");
  assert.equal(shownHost("аpple.com", "https://xn--pple-43d.com/", BASE), "xn--pple-43d.com");
  assert.equal(shownHost("https://bаnk.example/x", "https://xn--bnk-6cd.example/x", BASE), "xn--bnk-6cd.example");
  assert.equal(shownHost("mail.xn--bnk-6cd.example", "https://mail.xn--bnk-6cd.example/", BASE), "mail.xn--bnk-6cd.example");
  // Plain ASCII hosts named by their text still show nothing more.
  assert.equal(shownHost("bank.example", "https://bank.example/", BASE), "");
});

test("mail and other schemes show the address, relative links the page's host", () => {
  assert.equal(shownHost("write to us", "mailto:help@example.com", BASE), "mailto:help@example.com");
  assert.equal(shownHost("help@example.com", "mailto:help@example.com", BASE), "");
  assert.equal(shownHost("settings", "/settings", BASE), "chat.example.net");
  assert.equal(shownHost("broken", "http://[::1", BASE), "");
});
