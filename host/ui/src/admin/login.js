// Signing in: a login and a password, or the server's single sign-on
// provider when it has one. An account given a one-time password chooses
// its own before going anywhere (the server refuses everything else until
// then). Afterwards the browser goes back where it came from (`?next=`).

import { ApiError, api } from "../api.js";
import { h, replace } from "../dom.js";
import { title, topbar } from "../layout.js";
import { navigate } from "../router.js";
import { toast, toastError } from "../toast.js";
import { currentUser, forgetUser, isAccount, signOut } from "./account.js";
import { errorBox, field } from "./ui.js";

const MIN_PASSWORD = 12;

/** Only a path of this site, never another site's address, is followed. */
function nextPath(query) {
  const next = query.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

/** Mounts the login page. */
export function mountLogin(root, _params, query) {
  title("Sign in");
  const main = h("main", { id: "main", class: "auth-page", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  root.append(topbar(), main);
  const next = nextPath(query);
  const done = () => navigate(next, { replace: true });

  currentUser().then((user) => {
    if (isAccount(user) && user.must_change_password) return showChange(main, null, done);
    if (isAccount(user)) return showSignedIn(main, user, next);
    showLogin(main, done, query.get("sso_error"));
  }, () => showLogin(main, done, query.get("sso_error")));
}

function showSignedIn(main, user, next) {
  replace(main,
    h("h1", {}, "Signed in"),
    h("p", {}, `You are signed in as ${user.login} (${user.role}).`),
    h("div", { class: "row" },
      h("a", { class: "btn btn-primary", href: next }, "Continue"),
      h("button", { type: "button", class: "btn", onclick: signOut }, "Sign out")));
}

/** `ssoError` is why a single sign-on just failed, as the server said. */
function showLogin(main, done, ssoError) {
  const login = h("input", { type: "text", name: "login", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
  const message = h("div", { class: "form-message", "aria-live": "assertive" });
  const providers = h("div", { class: "providers" });
  const form = h("form", { class: "card auth-form", "aria-label": "Sign in" },
    field("Login", login), field("Password", password), message, h("div", { class: "form-actions" }, submit));
  replace(main,
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Staff sign in here. Learners need no account: open a lab, or join a workshop with its code."),
    form, providers,
    h("p", {}, h("a", { href: "/join" }, "Join a workshop with a code")));
  if (ssoError) replace(message, errorBox({ message: ssoError, hint: "Try again, or ask an administrator if it keeps failing." }, "Single sign-on failed"));
  login.focus();
  showProviders(providers);

  let lockTimer = null;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    replace(message);
    submit.disabled = true;
    submit.classList.add("is-busy");
    let answer;
    try {
      answer = await api("/auth/login", { method: "POST", json: { login: login.value.trim(), password: password.value }, identify: false });
    } catch (error) {
      submit.classList.remove("is-busy");
      if (error instanceof ApiError && error.code === "login_locked") {
        clearInterval(lockTimer);
        lockTimer = lockedOut(message, submit, error.retryAfter ?? 60);
        return;
      }
      submit.disabled = false;
      replace(message, errorBox(error, error.code === "bad_credentials" ? "Not signed in" : "Signing in failed"));
      password.select();
      return;
    }
    forgetUser();
    if (answer.user.must_change_password) return showChange(main, password.value, done);
    toast(`Signed in as ${answer.user.login}`, "success");
    done();
  });
}

/** Says how long logins stay locked, and unlocks the button after. */
function lockedOut(message, submit, seconds) {
  const until = Date.now() + seconds * 1000;
  const say = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      submit.disabled = false;
      replace(message, h("p", { class: "muted" }, "You may try again now."));
      return;
    }
    replace(message, h("div", { class: "notice notice-error", role: "alert" },
      h("strong", {}, "Too many failed logins."), ` Try again in ${left} s, or ask an administrator to reset the password.`));
  };
  const timer = setInterval(say, 1000);
  say();
  return timer;
}

/** Offers the single sign-on provider, if the server has one. */
async function showProviders(box) {
  try {
    const { oidc } = await api("/auth/providers", { identify: false });
    if (oidc) replace(box, h("a", { class: "btn btn-large", href: oidc.start }, `Sign in with ${oidc.name}`));
  } catch (e) {
    // A server without single sign-on may not know the endpoint at all.
    if (!(e instanceof ApiError && e.status === 404)) toastError(e, "The sign-in providers could not be listed");
  }
}

/**
 * The new password form. `current` is the one-time password just typed,
 * or null when it must be asked (the page was reloaded in between).
 */
function showChange(main, current, done) {
  const old = current === null ? h("input", { type: "password", autocomplete: "current-password", required: true }) : null;
  const fresh = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: MIN_PASSWORD });
  const again = h("input", { type: "password", autocomplete: "new-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Change password");
  const message = h("div", { class: "form-message", "aria-live": "assertive" });
  const form = h("form", { class: "card auth-form", "aria-label": "Choose a new password" },
    old ? field("Current (one-time) password", old) : null,
    field("New password", fresh, `At least ${MIN_PASSWORD} characters, without your login in it.`),
    field("Repeat the new password", again),
    message,
    h("div", { class: "form-actions" }, submit));
  replace(main,
    h("h1", {}, "Choose a new password"),
    h("p", {}, "You signed in with a one-time password. Choose your own before going on."),
    form);
  (old ?? fresh).focus();

  again.addEventListener("input", () => again.setCustomValidity(""));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (fresh.value !== again.value) {
      again.setCustomValidity("The two passwords differ.");
      again.reportValidity();
      return;
    }
    replace(message);
    submit.disabled = true;
    submit.classList.add("is-busy");
    try {
      await api("/auth/password", { method: "POST", json: { current: old ? old.value : current, new: fresh.value }, identify: false });
    } catch (error) {
      replace(message, errorBox(error, "The password was not changed"));
      return;
    } finally {
      submit.disabled = false;
      submit.classList.remove("is-busy");
    }
    forgetUser();
    toast("Password changed: you are signed in", "success");
    done();
  });
}
