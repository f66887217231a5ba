// The learner's UI: the catalog, a lab's page and a session's page.

import "@xterm/xterm/css/xterm.css";
import "./styles.css";
import { mountCatalog, mountNotFound } from "./catalog.js";
import { mountLab } from "./lab.js";
import { route, start } from "./router.js";
import { mountSession } from "./session/page.js";

route("/", mountCatalog);
route("/labs/:id", mountLab);
route("/sessions/:id", mountSession);
start(mountNotFound);
