// The learner's UI: the catalog, a lab's page and a session's page.

import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { mountCatalog, mountNotFound } from "./catalog.js";
import { mountLab } from "./lab.js";
import { route, start } from "./router.js";

route("/", mountCatalog);
route("/labs/:id", mountLab);
route("/sessions/:id", (root, params) => {
  // The terminal and the editor are most of the code: load them on demand.
  let cleanup = null;
  let left = false;
  import("./session/page.js").then(({ mountSession }) => {
    if (!left) cleanup = mountSession(root, params);
  });
  return () => {
    left = true;
    cleanup?.();
  };
});
start(mountNotFound);
