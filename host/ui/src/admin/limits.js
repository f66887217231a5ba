// Limits: the server-wide caps an administrator may change while it runs.

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { act, call, errorBox, field } from "./ui.js";

// Each limit the server answers, what it is called, and what it is for.
// `optional` ones may be left empty (the server's or each lab's own).
const LIMITS = [
  { key: "max_sessions", label: "Sessions on the server at once", min: 1 },
  { key: "max_per_learner", label: "Sessions per learner at once", min: 1 },
  { key: "idle_timeout_seconds", label: "Idle timeout (seconds)", min: 60, help: "A session without terminal input, file writes or checks for this long is ended." },
  { key: "hints_per_minute", label: "Hints per learner per minute", min: 1 },
  { key: "max_ttl_minutes", label: "Longest session (minutes)", min: 1, optional: true, help: "Empty: each lab's own lifetime." },
];

/** Mounts the Limits tab in `panel`. */
export function mountLimits(panel, { signal }) {
  const inputs = new Map(LIMITS.map((l) => [l.key, h("input", { type: "number", min: l.min, step: 1, required: !l.optional, name: l.key })]));
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save limits");
  const form = h("form", { class: "card form-grid", "aria-label": "Limits" },
    LIMITS.map((l) => field(l.label, inputs.get(l.key), l.help)),
    h("div", { class: "form-actions" }, save));
  const fill = (limits) => {
    for (const [key, input] of inputs) input.value = limits[key] ?? "";
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const changed = Object.fromEntries([...inputs].map(([key, input]) => [key, input.value === "" ? null : Number(input.value)]));
    const limits = await act(save, "The limits were not saved", () => call("/admin/limits", { method: "PUT", json: changed }));
    if (!limits) return;
    fill(limits);
    toast("Limits saved: they hold from now on", "success");
  });
  const status = h("div", {}, h("p", { class: "muted" }, "Loading the limits…"));
  panel.append(h("h1", {}, "Limits"),
    h("p", { class: "muted" }, "Server-wide caps; sessions already running keep what they were given."),
    status);
  call("/admin/limits", { signal }).then((limits) => {
    fill(limits);
    replace(status, form);
  }, (e) => {
    if (e?.name !== "AbortError") replace(status, errorBox(e, "The limits could not be read"));
  });
}
