// A small menu that opens under its button: a <details> whose <summary> is the button.
// Native keyboard use (Tab, Enter, Space) comes with the element; this adds what a menu
// also needs: it closes on Esc, on a click elsewhere, and once one of its items is chosen.

import { KEY } from "../constants.js";

/** @param {HTMLDetailsElement} details */
export function dropdownMenu(details) {
  const summary = details.querySelector("summary");
  const close = ({ refocus }) => {
    if (!details.open) return;
    details.open = false;
    if (refocus) summary.focus();
  };
  details.addEventListener("keydown", (event) => {
    if (event.key !== KEY.ESCAPE || !details.open) return;
    event.preventDefault(); // the menu closes; the page's Esc (stop an answer) waits for the next one
    close({ refocus: true });
  });
  document.addEventListener("click", (event) => {
    if (!details.contains(event.target)) close({ refocus: false });
  });
  details.addEventListener("click", (event) => {
    // An item was chosen: its own handler runs first (it is deeper), then the menu closes.
    if (event.target instanceof Element && event.target.closest("button") && !event.target.closest("summary")) {
      close({ refocus: false });
    }
  });
}
