// Judges: every plugin with its loaded versions and their counters, an
// upload that serves a new version from the next check on, and promote,
// roll back, disable and enable.

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { act, call, count, errorBox, field, row, table, when } from "./ui.js";

/** Mounts the Judges tab in `panel`. */
export function mountPlugins(panel, { signal }) {
  const list = h("div", { class: "plugin-list", "aria-live": "polite", "aria-busy": "true" });
  const load = async () => {
    list.setAttribute("aria-busy", "true");
    try {
      const plugins = await call("/admin/plugins", { signal });
      replace(list, plugins.length ? plugins.map((p) => pluginCard(p)) : h("p", { class: "empty" }, "No judge is loaded yet: upload one above."));
    } catch (e) {
      if (e?.name !== "AbortError") replace(list, errorBox(e, "The judges could not be listed"));
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  };
  panel.append(
    h("h1", {}, "Judges"),
    h("p", { class: "muted" }, "Judges and hint providers loaded in this server. A version serves from the next check on; checks under way finish on the version they started with."),
    uploadForm(load),
    h("h2", {}, "Loaded"),
    list);
  load();
}

/** The upload form; `uploaded` is called after a version was loaded. */
function uploadForm(uploaded) {
  const file = h("input", { type: "file", accept: ".wasm,application/wasm", required: true });
  const serve = h("input", { type: "checkbox", checked: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Upload");
  const result = h("div", { class: "upload-result", id: "upload-result", "aria-live": "polite" });
  const form = h("form", { class: "card form-row", "aria-label": "Upload a judge" },
    field("Component (.wasm)", file),
    h("label", { class: "check-label" }, serve, "Serve it at once"),
    submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    replace(result);
    const outcome = await act(submit, "The upload failed", async () => {
      const bytes = await chosen.arrayBuffer();
      try {
        return await call(`/admin/plugins?promote=${serve.checked}`, { method: "POST", body: bytes, type: "application/wasm" });
      } catch (error) {
        // A refusal is the answer to show, in place.
        replace(result, errorBox(error, `${chosen.name} was refused`));
        return null;
      }
    });
    if (!outcome) return;
    replace(result, uploadedNotice(outcome));
    form.reset();
    uploaded();
  });
  return h("section", { "aria-labelledby": "upload-title" }, h("h2", { id: "upload-title" }, "Upload a version"), form, result);
}

function uploadedNotice(u) {
  return h("div", { class: "notice notice-ok", role: "status" },
    h("strong", {}, `${u.name} ${u.version} loaded`), ` (sha256 ${u.digest.slice(0, 12)}…), `,
    u.serving ? "serving now." : "not serving: promote it below.",
    dryRun(u.dry_run));
}

/**
 * The recorded cases the server graded with the new version before taking
 * it: one case, a list of them, or none (no lab it judges records any).
 */
function dryRun(dry) {
  const cases = Array.isArray(dry) ? dry : dry ? [dry] : [];
  if (!cases.length) return h("p", { class: "muted" }, "No recorded case to try it on.");
  return h("ul", { class: "dry-run", "aria-label": "Dry run" }, cases.map((c) => h("li", {},
    `${c.lab}${c.task ? ` / ${c.task}` : ""} with ${c.fixture}: ${c.status}`,
    c.problem || c.message ? ` — ${c.problem ?? c.message}` : "")));
}

/** One plugin: its state, its actions, and its versions. */
function pluginCard(p) {
  const heading = `plugin-${p.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const card = h("section", { class: "card plugin", "aria-labelledby": heading, "data-plugin": p.name, "data-serving": p.serving ?? "" });
  // Each action answers the plugin as it now is: draw it again.
  const run = (button, what, path, options, done) => act(button, what, async () => {
    const fresh = await call(path, { method: "POST", ...options });
    card.replaceWith(pluginCard(fresh));
    toast(done(fresh), "success");
  });
  const name = encodeURIComponent(p.name);
  const state = p.disabled
    ? h("span", { class: "pill pill-bad" }, "Disabled")
    : p.serving ? h("span", { class: "pill pill-ok" }, `Serving ${p.serving}`) : h("span", { class: "pill" }, "Nothing serving");
  const rollback = h("button", {
    type: "button", class: "btn btn-small", "aria-label": `Roll back ${p.name}`,
    onclick: () => run(rollback, "Rollback failed", `/admin/plugins/${name}/rollback`, {}, (f) => `${p.name}: ${f.serving} serves again`),
  }, "Roll back");
  const toggle = h("button", {
    type: "button", class: p.disabled ? "btn btn-small" : "btn btn-small btn-danger", "aria-label": `${p.disabled ? "Enable" : "Disable"} ${p.name}`,
    onclick: () => run(toggle, "The change failed", `/admin/plugins/${name}/disabled`, { method: "PUT", json: { disabled: !p.disabled } },
      (f) => `${p.name} is ${f.disabled ? "disabled: its labs' checks answer that the judge is unavailable" : "enabled"}`),
  }, p.disabled ? "Enable" : "Disable");

  const versions = [...p.versions].reverse().map((v) => {
    const promote = h("button", {
      type: "button", class: "btn btn-small", "aria-label": `Promote ${p.name} ${v.version}`,
      onclick: () => run(promote, "Promotion failed", `/admin/plugins/${name}/versions/${encodeURIComponent(v.version)}/promote`, {}, () => `${p.name}: ${v.version} serves now`),
    }, "Promote");
    return row([
      h("strong", {}, v.version),
      h("code", { title: v.digest }, v.digest.slice(0, 12)),
      v.contract,
      [v.judge ? "judge" : null, v.hints ? "hints" : null].filter(Boolean).join(", "),
      `${(v.size / 1024).toFixed(1)} KiB`,
      when(v.loaded_at * 1000),
      count(v.calls), count(v.errors), count(v.p50_ms, 1),
      v.serving ? h("span", { class: "pill pill-ok" }, "Serving") : promote,
    ], { "data-version": v.version });
  });

  card.append(
    h("div", { class: "card-head" },
      h("h3", { id: heading }, p.name), state,
      h("span", { class: "muted counters" }, `${count(p.calls)} calls · ${count(p.errors)} errors · p50 ${count(p.p50_ms, 1)} ms`),
      h("span", { class: "spacer" }), rollback, toggle),
    table(`Versions of ${p.name}`, ["Version", "Digest", "Contract", "Provides", "Size", "Loaded", "Calls", "Errors", "p50 ms", ""], versions, "No version loaded."));
  return card;
}
