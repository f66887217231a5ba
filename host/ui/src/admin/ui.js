// What the staff pages share: calling the API as a signed-in account,
// tables, labelled fields, confirmations, and times.

import { ApiError, api } from "../api.js";
import { h } from "../dom.js";
import { navigate } from "../router.js";
import { toastError } from "../toast.js";
import { forgetUser } from "./account.js";

/**
 * Calls the API for a staff page. A guest identity is never made for it;
 * a lost login (401) or a pending password change sends the browser to
 * the login page, to come back here after.
 */
export async function call(path, options = {}) {
  try {
    return await api(path, { identify: false, ...options });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.code === "password_change_required")) {
      forgetUser();
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
    }
    throw e;
  }
}

/**
 * Runs `action` for a button: the button is busy meanwhile, and a failure
 * is shown as a toast starting with `what`. Resolves to the action's
 * result, or undefined when it failed.
 */
export async function act(button, what, action) {
  button.disabled = true;
  button.classList.add("is-busy");
  try {
    return await action();
  } catch (e) {
    if (e?.name !== "AbortError") toastError(e, what);
    return undefined;
  } finally {
    button.disabled = false;
    button.classList.remove("is-busy");
  }
}

let fields = 0;

/** A label and its control, tied by a fresh id. */
export function field(label, control, help = null) {
  control.id ||= `field-${++fields}`;
  const note = help ? h("small", { class: "muted", id: `${control.id}-help` }, help) : null;
  if (note) control.setAttribute("aria-describedby", note.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, note);
}

/** An error in place: what failed (`lead`), its message and hint, announced. */
export function errorBox(error, lead = "") {
  return h("div", { class: "notice notice-error", role: "alert" },
    h("strong", {}, lead ? `${lead}: ${error.message}` : error.message),
    error.hint ? h("p", { class: "muted" }, error.hint) : null);
}

/**
 * A table: `headers` are column titles, `rows` table rows (see `row`);
 * `empty` is said instead when there are none.
 */
export function table(label, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-scroll" },
    h("table", { class: "data-table", "aria-label": label },
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
}

/** A table row of `cells` (nodes or text), with `attrs` on the row. */
export function row(cells, attrs = {}) {
  return h("tr", attrs, cells.map((c) => h("td", {}, c)));
}

/**
 * Asks before an action that cannot be undone. Resolves true when
 * `confirm` (the button's text) was pressed.
 */
export function confirmAction({ title, text, confirm }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "confirm-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, text),
        h("div", { class: "dialog-actions" },
          h("button", { type: "submit", class: "btn", value: "cancel", autofocus: true }, "Cancel"),
          h("button", { type: "submit", class: "btn btn-danger", value: "confirm" }, confirm))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Shows a one-time password, which the server never shows again. */
export function showOneTimePassword(login, password) {
  const value = h("input", { type: "text", readonly: true, value: password, class: "secret", "aria-label": `One-time password of ${login}` });
  const copy = h("button", {
    type: "button", class: "btn",
    onclick: () => navigator.clipboard?.writeText(password).then(() => { copy.textContent = "Copied"; }, () => value.select()),
  }, "Copy");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": "otp-title" },
    h("form", { method: "dialog" },
      h("h2", { id: "otp-title" }, `One-time password for ${login}`),
      h("p", {}, "Give it to them now: it is shown only once. They choose their own password when they first sign in."),
      h("div", { class: "row" }, value, copy),
      h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "btn btn-primary" }, "Done"))));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  value.select();
}

/** A time (ms since the epoch) as a local date and time; "—" for none. */
export function when(ms) {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return h("time", { datetime: d.toISOString(), title: d.toLocaleString() }, d.toLocaleString([], { dateStyle: "short", timeStyle: "medium" }));
}

/** How long ago (or, for a future time, in how long) `ms` is, roughly. */
export function relative(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return "—";
  const seconds = Math.round((ms - now) / 1000);
  const size = Math.abs(seconds);
  const [n, unit] = size < 60 ? [size, "s"] : size < 3600 ? [Math.floor(size / 60), "min"] : size < 86_400 ? [Math.floor(size / 3600), "h"] : [Math.floor(size / 86_400), "d"];
  const text = seconds < 0 ? `${n} ${unit} ago` : seconds === 0 ? "now" : `in ${n} ${unit}`;
  return h("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toLocaleString() }, text);
}

/** A number, or "—" when the server did not say (older servers). */
export function count(n, digits = 0) {
  return typeof n === "number" ? n.toFixed(digits) : "—";
}
