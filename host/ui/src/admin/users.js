// Users: the accounts, a new one with its one-time password (shown once),
// roles, disabling, a per-user cap on sessions, and password resets.

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { act, call, confirmAction, errorBox, field, row, showOneTimePassword, table, when } from "./ui.js";

const ROLES = ["learner", "author", "admin"];

/** Mounts the Users tab in `panel`. */
export function mountUsers(panel, { signal, user: me }) {
  const list = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the accounts…"));
  async function load() {
    try {
      const users = await call("/admin/users", { signal });
      replace(list, table("Accounts", ["Login", "Name", "Role", "Sessions at once", "Status", "Created", ""],
        users.map((u) => userRow(u, me, load)), "No account yet."));
    } catch (e) {
      if (e?.name !== "AbortError") replace(list, errorBox(e, "The accounts could not be listed"));
    }
  }
  panel.append(h("h1", {}, "Users"), createForm(load), h("h2", {}, "Accounts"), list);
  load();
}

function roleSelect(selected, label) {
  return h("select", { "aria-label": label }, ROLES.map((r) => h("option", { value: r, selected: r === selected }, r)));
}

function createForm(created) {
  const login = h("input", { type: "text", required: true, autocomplete: "off", pattern: "[A-Za-z0-9._@\\-]{2,64}" });
  const name = h("input", { type: "text", autocomplete: "off" });
  const role = roleSelect("learner", null);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create account");
  const form = h("form", { class: "card form-row", "aria-label": "New account" },
    field("Login", login, "2-64 letters, digits and . _ - @"), field("Name (optional)", name), field("Role", role), submit);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { login: login.value.trim(), role: role.value, ...(name.value.trim() ? { name: name.value.trim() } : {}) };
    const made = await act(submit, "The account was not created", () => call("/admin/users", { method: "POST", json: body }));
    if (!made) return;
    form.reset();
    showOneTimePassword(made.user.login, made.one_time_password);
    created();
  });
  return h("section", { "aria-labelledby": "new-user-title" }, h("h2", { id: "new-user-title" }, "New account"), form);
}

function userRow(u, me, reload) {
  const login = u.login ?? u.id;
  const path = `/admin/users/${encodeURIComponent(u.id)}`;
  const patch = (control, what, change, done) => act(control, what, async () => {
    await call(path, { method: "PATCH", json: change });
    toast(done, "success");
    await reload();
  });

  const role = roleSelect(u.role, `Role of ${login}`);
  role.addEventListener("change", () => {
    const wanted = role.value;
    role.value = u.role; // until the server agrees
    patch(role, "The role was not changed", { role: wanted }, `${login} is now ${wanted === "learner" ? "a" : "an"} ${wanted}`);
  });

  const cap = h("input", { type: "number", min: 0, step: 1, class: "narrow", value: u.max_sessions ?? "", placeholder: "default", "aria-label": `Sessions at once for ${login}` });
  const setCap = h("button", {
    type: "button", class: "btn btn-small", "aria-label": `Set the session cap of ${login}`,
    onclick: () => {
      const value = cap.value === "" ? null : Number(cap.value);
      patch(setCap, "The cap was not set", { max_sessions: value }, value === null ? `${login} has the server's cap again` : `${login} may run ${value} sessions at once`);
    },
  }, "Set");

  const self = u.id === me.id;
  const toggle = h("button", {
    type: "button", class: u.disabled ? "btn btn-small" : "btn btn-small btn-danger", disabled: self,
    title: self ? "You cannot disable your own account" : null, "aria-label": `${u.disabled ? "Enable" : "Disable"} ${login}`,
    onclick: async () => {
      if (!u.disabled && !await confirmAction({ title: `Disable ${login}?`, text: "They are signed out and cannot sign in until enabled again.", confirm: "Disable" })) return;
      patch(toggle, "The account was not changed", { disabled: !u.disabled }, `${login} is ${u.disabled ? "enabled" : "disabled"}`);
    },
  }, u.disabled ? "Enable" : "Disable");

  const reset = h("button", {
    type: "button", class: "btn btn-small", "aria-label": `Reset the password of ${login}`,
    onclick: async () => {
      if (!await confirmAction({ title: `Reset the password of ${login}?`, text: "Their password stops working; they sign in with a one-time password and choose a new one.", confirm: "Reset the password" })) return;
      const answer = await act(reset, "The password was not reset", () => call(`${path}/password`, { method: "POST" }));
      if (!answer) return;
      showOneTimePassword(login, answer.one_time_password);
      reload();
    },
  }, "Reset password");

  return row([
    h("strong", {}, login),
    u.name ?? "",
    role,
    h("div", { class: "row" }, cap, setCap),
    u.disabled ? h("span", { class: "pill pill-bad" }, "disabled")
      : u.must_change_password ? h("span", { class: "pill" }, "one-time password") : h("span", { class: "pill pill-ok" }, "active"),
    when(u.created_at),
    h("div", { class: "row" }, toggle, reset),
  ], { "data-user": login });
}
