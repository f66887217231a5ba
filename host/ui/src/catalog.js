// The catalog: every lab, filtered by words, topic and difficulty (kept in
// the URL so a filtered list can be shared), and the learner's running
// sessions to go back to.

import { api, query } from "./api.js";
import { clock, h, replace } from "./dom.js";
import { topbar, title } from "./layout.js";
import { renderMarkdown } from "./markdown.js";
import { startLab } from "./start.js";

const DIFFICULTIES = ["beginner", "intermediate", "advanced"];

/** Mounts the catalog page. */
export function mountCatalog(root, _params, params) {
  title("Labs");
  const filters = { q: params.get("q") ?? "", topic: params.get("topic") ?? "", difficulty: params.get("difficulty") ?? "" };
  const search = h("input", { type: "search", id: "lab-search", placeholder: "Search labs", value: filters.q, "aria-label": "Search labs" });
  const topic = h("select", { id: "lab-topic", "aria-label": "Topic" }, h("option", { value: "" }, "All topics"));
  const difficulty = h("select", { id: "lab-difficulty", "aria-label": "Difficulty" },
    h("option", { value: "" }, "Any difficulty"),
    DIFFICULTIES.map((d) => h("option", { value: d, selected: d === filters.difficulty }, d)));
  const list = h("div", { class: "lab-grid", id: "labs", "aria-live": "polite", "aria-busy": "true" });
  const count = h("p", { class: "muted", id: "lab-count" });
  const mine = h("section", { class: "my-sessions", "aria-label": "Your running labs", hidden: true });

  const main = h("main", { id: "main", class: "catalog", tabindex: "-1" },
    h("div", { class: "catalog-head" },
      h("h1", {}, "Labs"),
      h("p", { class: "muted" }, "Hands-on labs in a real environment, right in your browser.")),
    mine,
    h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
      search, topic, difficulty, count),
    list);
  root.append(topbar(), main);

  let running = new Map();
  let generation = 0;
  const load = async () => {
    const mineNow = generation;
    const url = `?${new URLSearchParams(Object.entries(filters).filter(([, v]) => v))}`;
    history.replaceState(null, "", url === "?" ? location.pathname : url);
    list.setAttribute("aria-busy", "true");
    try {
      const labs = await api(`/labs${query(filters)}`);
      if (mineNow !== generation) return;
      count.textContent = labs.length === 1 ? "1 lab" : `${labs.length} labs`;
      replace(list, labs.length ? labs.map((lab) => card(lab, running)) : h("p", { class: "empty" }, "No lab matches these filters."));
    } catch (e) {
      replace(list, h("p", { class: "error-text", role: "alert" }, `The labs could not be loaded: ${e.message}`));
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  };
  const changed = () => { generation++; load(); };

  let debounce;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { filters.q = search.value.trim(); changed(); }, 200);
  });
  topic.addEventListener("change", () => { filters.topic = topic.value; changed(); });
  difficulty.addEventListener("change", () => { filters.difficulty = difficulty.value; changed(); });

  // The topics offered are those of all labs, whatever the filters. Running
  // sessions are asked for only by a browser that already has an identity:
  // browsing the catalog does not create one.
  Promise.all([api("/labs").catch(() => []), api("/sessions", { identify: false }).catch(() => [])]).then(([all, sessions]) => {
    const topics = [...new Set(all.flatMap((l) => l.topics))].sort();
    topic.append(...topics.map((t) => h("option", { value: t, selected: t === filters.topic }, t)));
    const titles = new Map(all.map((l) => [l.id, l.title]));
    const live = sessions.filter((s) => s.status === "running" || s.status === "starting");
    running = new Map(live.map((s) => [s.lab, s]));
    if (live.length) {
      mine.hidden = false;
      replace(mine, h("h2", {}, "Continue where you left off"),
        h("ul", { class: "plain-list" }, live.map((s) => h("li", { class: "row session-row" },
          h("strong", {}, titles.get(s.lab) ?? s.lab),
          h("span", { class: "muted" }, s.remaining_seconds != null ? `${clock(s.remaining_seconds)} left` : s.status),
          h("a", { class: "btn btn-primary btn-small", href: `/sessions/${encodeURIComponent(s.id)}` }, "Resume")))));
    }
    load();
  });

  return () => clearTimeout(debounce);
}

function card(lab, running) {
  const session = running.get(lab.id);
  const action = session
    ? h("a", { class: "btn btn-primary", href: `/sessions/${encodeURIComponent(session.id)}` }, "Resume")
    : h("button", {
      type: "button", class: "btn btn-primary", disabled: !lab.startable,
      title: lab.startable ? null : "This server cannot run this lab now",
      "aria-label": `Start ${lab.title}`,
      onclick: () => startLab(lab.id, lab.title),
    }, lab.startable ? "Start" : "Unavailable");
  return h("article", { class: "lab-card", "data-lab": lab.id },
    h("h2", {}, h("a", { href: `/labs/${encodeURIComponent(lab.id)}` }, lab.title)),
    h("div", { class: "lab-meta" },
      h("span", { class: `badge badge-${lab.difficulty}` }, lab.difficulty),
      h("span", {}, `${lab.duration_minutes} min`),
      h("span", {}, lab.tasks === 1 ? "1 task" : `${lab.tasks} tasks`)),
    renderMarkdown(lab.description),
    h("div", { class: "lab-card-foot" },
      h("ul", { class: "topics", "aria-label": "Topics" }, lab.topics.map((t) => h("li", {}, t))),
      action));
}

/** The page for unknown addresses. */
export function mountNotFound(root) {
  title("Not found");
  root.append(topbar(), h("main", { id: "main", class: "centered", tabindex: "-1" },
    h("h1", {}, "Nothing here"),
    h("p", {}, "This address does not lead to a lab or a session."),
    h("a", { class: "btn btn-primary", href: "/" }, "See all labs")));
}
