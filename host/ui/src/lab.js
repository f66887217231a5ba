// One lab's page: what it is about, its steps, and Start.

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { topbar, title } from "./layout.js";
import { renderMarkdown } from "./markdown.js";
import { startLab } from "./start.js";

/** Mounts the page of lab `id`. */
export function mountLab(root, { id }) {
  const main = h("main", { id: "main", class: "lab-page", tabindex: "-1" }, h("p", { class: "muted" }, "Loading the lab…"));
  root.append(topbar(h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "/" }, "Labs"))), main);

  Promise.all([api(`/labs/${encodeURIComponent(id)}`), api("/sessions", { identify: false }).catch(() => [])]).then(([lab, sessions]) => {
    title(lab.title);
    const running = sessions.find((s) => s.lab === lab.id && (s.status === "running" || s.status === "starting"));
    const action = running
      ? h("a", { class: "btn btn-primary btn-large", href: `/sessions/${encodeURIComponent(running.id)}` }, "Resume your session")
      : h("button", { type: "button", class: "btn btn-primary btn-large", disabled: !lab.startable, onclick: () => startLab(lab.id, lab.title) },
        lab.startable ? "Start the lab" : "Unavailable on this server");
    main.replaceChildren(
      h("h1", {}, lab.title),
      h("div", { class: "lab-meta" },
        h("span", { class: `badge badge-${lab.difficulty}` }, lab.difficulty),
        h("span", {}, `${lab.duration_minutes} min`),
        h("span", {}, lab.topics.join(", "))),
      renderMarkdown(lab.description),
      h("h2", {}, "What you will do"),
      h("ol", { class: "step-outline" }, lab.steps.map((s) => h("li", {}, s.title))),
      action);
    action.focus();
  }).catch((e) => {
    title("Lab not found");
    main.replaceChildren(
      h("h1", {}, e instanceof ApiError && e.status === 404 ? "No such lab" : "The lab could not be loaded"),
      h("p", {}, e.message),
      h("a", { class: "btn", href: "/" }, "See all labs"));
  });
}
