// Audit: every staff action, newest first, as the server recorded it.

import { h, replace } from "../dom.js";
import { act, call, errorBox, row, table, when } from "./ui.js";

/** Mounts the Audit tab in `panel`. */
export function mountAudit(panel, { signal }) {
  const list = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the audit log…"));
  async function load() {
    try {
      const entries = await call("/admin/audit", { signal });
      replace(list, table("Audit log", ["When", "Who", "Action", "Target", "Detail"],
        entries.map((entry) => row([when(entry.at), entry.actor, h("code", {}, entry.action), entry.target, entry.detail ?? ""], { "data-action": entry.action })),
        "Nothing recorded yet."));
    } catch (e) {
      if (e?.name !== "AbortError") replace(list, errorBox(e, "The audit log could not be read"));
    }
  }
  const refresh = h("button", { type: "button", class: "btn btn-small", onclick: () => act(refresh, "Refreshing failed", load) }, "Refresh");
  panel.append(
    h("div", { class: "row" }, h("h1", {}, "Audit"), h("span", { class: "spacer" }), refresh),
    h("p", { class: "muted" }, "What staff did: judges loaded, promoted, rolled back or disabled, sessions extended or ended, and the rest."),
    list);
  load();
}
