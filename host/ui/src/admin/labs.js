// Labs: the scenarios the server loaded, which of them learners see, and
// the ones it could not load with the reason; Reload reads the scenarios
// directory again.

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { act, call, errorBox, row, table } from "./ui.js";

/** Mounts the Labs tab in `panel`. */
export function mountLabs(panel, { signal }) {
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the labs…"));
  const show = (catalog) => replace(body,
    table("Labs", ["Lab", "Runtime", "Tasks", "Can start", "Shown to learners"], catalog.labs.map(labRow), "No lab is loaded."),
    catalog.invalid.length
      ? [h("h2", {}, "Not loaded"), h("ul", { class: "plain-list invalid-labs" }, catalog.invalid.map((bad) =>
        h("li", { class: "card", "data-invalid": bad.dir }, h("strong", {}, bad.dir), h("pre", { class: "problem" }, bad.message))))]
      : null);
  const reload = h("button", {
    type: "button", class: "btn",
    onclick: () => act(reload, "Reload failed", async () => {
      const catalog = await call("/admin/labs/reload", { method: "POST" });
      show(catalog);
      const bad = catalog.invalid.length;
      toast(`${catalog.labs.length} labs loaded${bad ? `, ${bad} not` : ""}`, bad ? "warn" : "success");
    }),
  }, "Reload");
  panel.append(
    h("div", { class: "row" }, h("h1", {}, "Labs"), h("span", { class: "spacer" }), reload),
    h("p", { class: "muted" }, "Reload reads the scenarios directory again. A hidden lab vanishes from the learners' catalog; running sessions go on."),
    body);
  call("/admin/labs", { signal }).then(show, (e) => {
    if (e?.name !== "AbortError") replace(body, errorBox(e, "The labs could not be listed"));
  });
}

function labRow(lab) {
  const toggle = h("input", { type: "checkbox", role: "switch", checked: lab.enabled, "aria-label": `Show ${lab.title} to learners` });
  toggle.addEventListener("change", async () => {
    const wanted = toggle.checked;
    const done = await act(toggle, "The lab could not be changed", () =>
      call(`/admin/labs/${encodeURIComponent(lab.id)}/enabled`, { method: "PUT", json: { enabled: wanted } }));
    if (done) toast(`${lab.title} is ${done.enabled ? "shown to" : "hidden from"} learners`, "success");
    toggle.checked = done ? done.enabled : !wanted;
  });
  return row([
    h("span", {}, h("strong", {}, lab.title), " ", h("code", { class: "muted" }, lab.id)),
    lab.runtime,
    String(Array.isArray(lab.tasks) ? lab.tasks.length : lab.tasks),
    lab.startable ? "yes" : h("span", { class: "muted" }, "no"),
    toggle,
  ], { "data-lab": lab.id });
}
