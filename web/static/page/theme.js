// Light or dark as a framing host asks: dark.css is linked for the system's dark mode; "dark"
// applies it always, "light" never, "system" gives the choice back to the system.

import { qs } from "./helpers.js";

const MEDIA = Object.freeze({ dark: "all", light: "not all" });

export class Theme {
  constructor(root = document) {
    this.darkSheet = qs("#dark-theme", root);
    this.systemMedia = this.darkSheet.media;
  }

  /** @param {"light"|"dark"|"system"} theme */
  set(theme) {
    this.darkSheet.media = MEDIA[theme] ?? this.systemMedia;
  }
}
