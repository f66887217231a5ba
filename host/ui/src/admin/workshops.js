// Workshops: an instructor opens seats on a lab for a while and hands out
// the join code; each workshop has a live dashboard (dashboard.js).

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { joinLink, mountDashboard } from "./dashboard.js";
import { act, call, errorBox, field, relative, row, table } from "./ui.js";

/** Mounts the Workshops tab in `panel`, or a workshop's dashboard. */
export function mountWorkshops(panel, context) {
  if (context.params.workshop) return mountDashboard(panel, context.params.workshop, context);
  const { signal } = context;
  const list = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading the workshops…"));
  async function load() {
    try {
      const workshops = await call("/workshops", { signal });
      replace(list, table("Workshops", ["Workshop", "Lab", "Join code", "Seats taken", "Expires", ""],
        workshops.map(workshopRow), "No workshop yet."));
    } catch (e) {
      if (e?.name !== "AbortError") replace(list, errorBox(e, "The workshops could not be listed"));
    }
  }
  panel.append(h("h1", {}, "Workshops"), createForm(signal, load), h("h2", {}, "Workshops"), list);
  load();
  return undefined;
}

function createForm(signal, created) {
  const lab = h("select", { required: true }, h("option", { value: "" }, "Loading labs…"));
  const title = h("input", { type: "text", placeholder: "e.g. Tuesday cohort" });
  const seats = h("input", { type: "number", min: 1, step: 1, value: 20, required: true });
  const minutes = h("input", { type: "number", min: 5, step: 5, value: 180, required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create workshop");
  const form = h("form", { class: "card form-row", "aria-label": "New workshop" },
    field("Lab", lab), field("Title (optional)", title), field("Seats", seats), field("Open for (minutes)", minutes), submit);
  call("/labs", { signal }).then((labs) => {
    replace(lab, h("option", { value: "" }, "Choose a lab"), labs.map((l) => h("option", { value: l.id, disabled: !l.startable }, l.startable ? l.title : `${l.title} (cannot start here)`)));
  }, (e) => {
    if (e?.name !== "AbortError") replace(form, errorBox(e, "The labs could not be listed"));
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { lab: lab.value, seats: Number(seats.value), expires_in_minutes: Number(minutes.value), ...(title.value.trim() ? { title: title.value.trim() } : {}) };
    const made = await act(submit, "The workshop was not created", () => call("/workshops", { method: "POST", json: body }));
    if (!made) return;
    toast(`Workshop created: learners join with the code ${made.code}`, "success", 10_000);
    title.value = "";
    created();
  });
  return h("section", { "aria-labelledby": "new-workshop-title" }, h("h2", { id: "new-workshop-title" }, "New workshop"), form);
}

function workshopRow(w) {
  const name = w.title || w.lab;
  return row([
    h("strong", {}, name),
    w.lab,
    w.ended ? h("span", { class: "muted" }, "ended") : h("span", {}, h("code", { class: "join-code" }, w.code), " ", h("a", { href: joinLink(w.code), class: "muted" }, "join link")),
    `${w.taken}/${w.seats}`,
    w.ended ? "—" : relative(w.expires_at),
    h("a", { class: "btn btn-small", href: `/admin/workshops/${encodeURIComponent(w.id)}`, "aria-label": `Open the dashboard of ${name}` }, "Dashboard"),
  ], { "data-workshop": w.id });
}
