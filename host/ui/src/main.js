// The UI: for learners the catalog, a lab's page, a session's page and
// joining a workshop; for staff signing in and the admin area.

import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { mountCatalog, mountNotFound } from "./catalog.js";
import { h, replace } from "./dom.js";
import { mountLab } from "./lab.js";
import { route, start } from "./router.js";

/**
 * A page whose code is loaded when it is first opened: the session page
 * (the terminal and the editor are most of the code) and the staff pages
 * stay out of the catalog's download. `load` resolves to the mount function.
 */
function lazy(load) {
  return (root, params, query) => {
    let cleanup = null;
    let left = false;
    load().then((mount) => {
      if (!left) cleanup = mount(root, params, query) ?? null;
    }, (e) => {
      if (!left) replace(root, h("main", { id: "main", class: "centered", role: "alert" }, h("h1", {}, "This page could not be loaded"), h("p", {}, e.message)));
    });
    return () => {
      left = true;
      cleanup?.();
    };
  };
}

const admin = lazy(() => import("./admin/shell.js").then((m) => m.mountAdmin));

route("/", mountCatalog);
route("/labs/:id", mountLab);
route("/sessions/:id", lazy(() => import("./session/page.js").then((m) => m.mountSession)));
route("/join", lazy(() => import("./admin/join.js").then((m) => m.mountJoin)));
route("/login", lazy(() => import("./admin/login.js").then((m) => m.mountLogin)));
route("/admin", admin);
route("/admin/:tab", admin);
route("/admin/workshops/:workshop", admin);
start(mountNotFound);
