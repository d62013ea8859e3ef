// Small DOM helpers for the modules that draw the page. Text goes in through textContent.

/** @param {string} selector @param {ParentNode} scope */
export function qs(selector, scope = document) {
  return scope.querySelector(selector);
}

/** Listen on `target` for events from descendants matching `selector`. */
export function delegate(target, selector, type, handler) {
  target.addEventListener(type, (event) => {
    const match = event.target instanceof Element ? event.target.closest(selector) : null;
    if (match && target.contains(match)) handler(match, event);
  });
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A `type="button"` button; `action` is what delegated listeners look for in `data-action`. */
export function button(className, text, action, label) {
  const node = element("button", className, text);
  node.type = "button";
  if (action) node.dataset.action = action;
  if (label) node.setAttribute("aria-label", label);
  return node;
}
