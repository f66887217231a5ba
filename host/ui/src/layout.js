// The frame shared by the pages: a top bar with the product's name and
// the account's links.

import { accountLinks } from "./admin/account.js";
import { h } from "./dom.js";

/** The top bar; `extra` goes after the brand (breadcrumbs, session controls). */
export function topbar(...extra) {
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/", "aria-label": "Proctor: all labs" },
      h("span", { class: "brand-mark", "aria-hidden": "true" }, ">_"), "Proctor"),
    extra,
    accountLinks());
}

/** Sets the document title. */
export function title(...parts) {
  document.title = [...parts.filter(Boolean), "Proctor"].join(" · ");
}
