// Who is signed in, as GET /auth/me says, asked once per page load and
// shared by the header and the staff pages; and the header's account
// links. Roles are enforced by the server: this only decides what to show.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { navigate } from "../router.js";
import { toastError } from "../toast.js";

let asked = null;

/**
 * The caller (`{id, login, role, kind, must_change_password}`), or null
 * when the browser has no token. Asking never makes a guest identity.
 */
export function currentUser() {
  asked ??= api("/auth/me", { identify: false }).catch((e) => {
    if (e.status === 401) return null;
    asked = null;
    throw e;
  });
  return asked;
}

/** Forgets who is signed in, after a login, a logout or a join. */
export function forgetUser() {
  asked = null;
}

/** Whether `user` is signed in to an account (not a guest). */
export function isAccount(user) {
  return user?.kind === "account";
}

/** Whether `user` may open the staff pages. */
export function isStaff(user) {
  return isAccount(user) && (user.role === "author" || user.role === "admin");
}

/** Signs out: the server revokes the token and clears the cookie. */
export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST", identify: false });
  } catch (e) {
    toastError(e, "Signing out failed");
    return;
  }
  forgetUser();
  navigate("/");
}

/** The header's links: Admin for staff, Sign in or Sign out. */
export function accountLinks() {
  const nav = h("nav", { class: "account", "aria-label": "Account" });
  // The login page itself offers no link to itself.
  const signIn = () => location.pathname === "/login" ? null
    : h("a", { class: "btn btn-small btn-ghost", href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Sign in");
  currentUser().then((user) => {
    if (!isAccount(user)) return replace(nav, signIn());
    if (user.must_change_password) return replace(nav, h("a", { class: "btn btn-small", href: "/login" }, "Choose a password"));
    replace(nav,
      isStaff(user) ? h("a", { class: "btn btn-small btn-ghost", href: "/admin" }, "Admin") : null,
      h("span", { class: "muted account-name", title: `Signed in as ${user.login} (${user.role})` }, user.login),
      h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: signOut }, "Sign out"));
  }).catch(() => replace(nav, signIn()));
  return nav;
}
