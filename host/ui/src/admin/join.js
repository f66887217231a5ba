// Joining a workshop: the code the instructor handed out and a name for
// the dashboard. No account is needed; the server gives this browser a
// seat (the same one again if it joined before) and starts the session.

import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { title, topbar } from "../layout.js";
import { navigate } from "../router.js";
import { toast } from "../toast.js";
import { forgetUser } from "./account.js";
import { errorBox, field } from "./ui.js";

/** Mounts the join page; `?code=` fills the code in. */
export function mountJoin(root, _params, query) {
  title("Join a workshop");
  const code = h("input", { type: "text", required: true, autocomplete: "off", autocapitalize: "characters", spellcheck: "false", value: query.get("code") ?? "" });
  const name = h("input", { type: "text", required: true, autocomplete: "name", maxlength: 80 });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-large" }, "Join");
  const message = h("div", { class: "form-message", "aria-live": "polite" });
  const form = h("form", { class: "card auth-form", "aria-label": "Join a workshop" },
    field("Join code", code), field("Your name", name, "Your instructor sees it next to your progress."), message, h("div", { class: "form-actions" }, submit));
  root.append(topbar(), h("main", { id: "main", class: "auth-page", tabindex: "-1" },
    h("h1", {}, "Join a workshop"),
    h("p", { class: "muted" }, "Enter the code your instructor gave you. Your lab starts right away."),
    form));
  (code.value ? name : code).focus();

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    submit.classList.add("is-busy");
    replace(message, h("p", { class: "muted" }, "Taking your seat and starting your environment…"));
    try {
      const joined = await api("/workshops/join", { method: "POST", json: { code: code.value.trim(), name: name.value.trim() }, identify: false });
      forgetUser();
      toast(`You have seat ${joined.seat} in ${joined.workshop.title || joined.workshop.lab}`, "success");
      navigate(`/sessions/${encodeURIComponent(joined.session.id)}`);
    } catch (error) {
      replace(message, errorBox(error, "You could not join"));
      submit.disabled = false;
      submit.classList.remove("is-busy");
    }
  });
}
