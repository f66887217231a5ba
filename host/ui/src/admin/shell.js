// The staff area: a tab per concern, each its own route and module. Who
// may see a tab is decided here only to hide what would be refused: the
// server checks every call's role itself.

import { h, replace } from "../dom.js";
import { title, topbar } from "../layout.js";
import { navigate } from "../router.js";
import { currentUser, isAccount, isStaff } from "./account.js";
import { errorBox } from "./ui.js";
import { mountAudit } from "./audit.js";
import { mountLabs } from "./labs.js";
import { mountLimits } from "./limits.js";
import { mountPlugins } from "./plugins.js";
import { mountSessions } from "./sessions.js";
import { mountUsers } from "./users.js";
import { mountWorkshops } from "./workshops.js";

// `admin`: administrators only; the others are for authors too.
const TABS = [
  { id: "plugins", label: "Judges", admin: false, mount: mountPlugins },
  { id: "sessions", label: "Sessions", admin: true, mount: mountSessions },
  { id: "labs", label: "Labs", admin: false, mount: mountLabs },
  { id: "limits", label: "Limits", admin: true, mount: mountLimits },
  { id: "users", label: "Users", admin: true, mount: mountUsers },
  { id: "audit", label: "Audit", admin: true, mount: mountAudit },
  { id: "workshops", label: "Workshops", admin: false, mount: mountWorkshops },
];

/**
 * Mounts the staff area: `params.tab` names the tab (Judges when none);
 * `params.workshop` is a workshop's dashboard, under Workshops.
 */
export function mountAdmin(root, params, query) {
  const id = params.workshop ? "workshops" : params.tab ?? "plugins";
  const tab = TABS.find((t) => t.id === id);
  if (!params.tab && !params.workshop) history.replaceState(null, "", "/admin/plugins");

  const tabs = h("nav", { class: "admin-tabs", "aria-label": "Admin sections" });
  const panel = h("main", { id: "main", class: "admin-main", tabindex: "-1" }, h("p", { class: "muted" }, "Loading…"));
  root.append(topbar(h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "/" }, "Labs"), h("span", { class: "crumb-title" }, "Admin"))),
    h("div", { class: "admin" }, tabs, panel));
  title(tab?.label, "Admin");

  const aborter = new AbortController();
  let cleanup = null;
  currentUser().then((user) => {
    if (aborter.signal.aborted) return;
    if (!isAccount(user) || user.must_change_password) {
      navigate(`/login?next=${encodeURIComponent(location.pathname)}`, { replace: true });
      return;
    }
    if (!isStaff(user)) {
      replace(panel, h("h1", {}, "Staff only"), h("p", {}, `The account ${user.login} is a learner's: the admin area is for authors and administrators.`));
      return;
    }
    const mine = TABS.filter((t) => !t.admin || user.role === "admin");
    replace(tabs, mine.map((t) => h("a", { href: `/admin/${t.id}`, class: "admin-tab", "aria-current": t.id === id ? "page" : null }, t.label)));
    if (!tab) {
      replace(panel, h("h1", {}, "No such admin page"), h("a", { href: "/admin" }, "Back to the admin area"));
    } else if (!mine.includes(tab)) {
      replace(panel, h("h1", {}, tab.label), h("p", {}, "Only administrators manage this."));
    } else {
      panel.replaceChildren();
      cleanup = tab.mount(panel, { params, query, user, signal: aborter.signal }) ?? null;
    }
  }).catch((e) => replace(panel, h("h1", {}, "The admin area could not be loaded"), errorBox(e)));

  return () => {
    aborter.abort();
    cleanup?.();
  };
}
