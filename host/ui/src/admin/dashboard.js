// A workshop's live dashboard: every seat against every task (passed,
// attempted, not tried), pushed by the server as server-sent events; a
// read-only view of a seat's terminal, freeing a seat, ending the
// workshop.

import { apiUrl } from "../api.js";
import { h, replace } from "../dom.js";
import { toast, toastError } from "../toast.js";
import { act, call, confirmAction, errorBox, relative } from "./ui.js";

// After the event stream is refused or closed, how long before trying again.
const RETRY_MS = 5_000;

/** Mounts the dashboard of workshop `id` in `panel`. */
export function mountDashboard(panel, id, { signal }) {
  const path = `/workshops/${encodeURIComponent(id)}`;
  const live = h("span", { class: "pill", role: "status" }, "Connecting…");
  const head = h("div", { class: "dashboard-head" });
  const grid = h("div", { class: "dashboard-grid" }, h("p", { class: "muted" }, "Loading the workshop…"));
  panel.append(h("a", { href: "/admin/workshops" }, "← All workshops"), head, grid);

  let current = null;
  let events = null;
  let retry = null;
  const show = (dashboard) => {
    current = dashboard;
    // An ended workshop changes no more.
    if (dashboard.workshop.ended) events?.close();
    replace(head, header(dashboard, path, refresh, live));
    replace(grid, seatGrid(dashboard, path, refresh));
  };
  async function refresh() {
    try {
      show(await call(path, { signal }));
    } catch (e) {
      if (e?.name !== "AbortError") replace(grid, errorBox(e, "The workshop could not be loaded"));
    }
  }

  const connect = () => {
    if (current?.workshop.ended) return;
    const stream = new EventSource(apiUrl(`${path}/events`));
    events = stream;
    stream.addEventListener("open", () => { live.textContent = "Live"; live.className = "pill pill-ok"; });
    stream.addEventListener("dashboard", (e) => show(JSON.parse(e.data)));
    stream.addEventListener("error", () => {
      live.textContent = "Reconnecting…";
      live.className = "pill pill-warn";
      // The browser retries a dropped stream itself, but not a refused
      // one: ask why (the answer or its error is shown), then try again.
      if (stream.readyState === EventSource.CLOSED) {
        refresh();
        retry = setTimeout(connect, RETRY_MS);
      }
    });
  };
  refresh().then(() => { if (!signal.aborted && current && !current.workshop.ended) connect(); });

  return () => {
    events?.close();
    clearTimeout(retry);
  };
}

/** Where learners join with `code`. */
export function joinLink(code) {
  return `${location.origin}/join?code=${encodeURIComponent(code)}`;
}

function header({ workshop: w }, path, refresh, live) {
  const end = h("button", {
    type: "button", class: "btn btn-danger", disabled: w.ended,
    onclick: async () => {
      const sure = await confirmAction({ title: "End this workshop?", text: "Every seat is freed and every learner's session ends. The join code stops working.", confirm: "End workshop" });
      if (!sure) return;
      await act(end, "The workshop could not be ended", async () => {
        await call(path, { method: "DELETE" });
        toast("Workshop ended", "success");
        await refresh();
      });
    },
  }, "End workshop");
  return [
    h("div", { class: "row" }, h("h1", {}, w.title || w.lab), w.ended ? h("span", { class: "pill pill-bad" }, "Ended") : live, h("span", { class: "spacer" }), end),
    h("dl", { class: "facts" },
      h("dt", {}, "Lab"), h("dd", {}, w.lab),
      w.ended ? null : [
        h("dt", {}, "Join code"), h("dd", {}, h("code", { class: "join-code" }, w.code), " ", h("a", { href: joinLink(w.code), class: "muted" }, joinLink(w.code))),
        h("dt", {}, "Closes"), h("dd", {}, relative(w.expires_at))],
      h("dt", {}, "Seats taken"), h("dd", {}, `${w.taken} of ${w.seats}`)),
  ];
}

/** One task's state for one seat, in words and a mark. */
function cell(state) {
  const [kind, mark, words] = state?.passed ? ["passed", "✓", "passed"]
    : state?.attempts ? ["attempted", `✗ ${state.attempts}`, `attempted ${state.attempts} ${state.attempts === 1 ? "time" : "times"}, not passed`]
      : ["untried", "·", "not tried"];
  return h("td", { class: `cell cell-${kind}`, title: words, "data-state": kind },
    h("span", { "aria-hidden": "true" }, mark), h("span", { class: "visually-hidden" }, words));
}

function seatGrid(d, path, refresh) {
  if (!d.seats.length) return h("p", { class: "empty" }, d.workshop.ended ? "No seat is taken." : "Nobody has joined yet: hand out the join code.");
  const passed = (task) => d.seats.filter((s) => s.tasks?.[task]?.passed).length;
  const rows = d.seats.map((s) => {
    const watch = h("button", {
      type: "button", class: "btn btn-small", disabled: s.session_status !== "running", "aria-label": `Watch seat ${s.seat}`,
      onclick: () => import("./watch.js").then((m) => m.watchSeat(d.workshop, s), (e) => toastError(e, "The terminal view could not be loaded")),
    }, "Watch");
    const free = h("button", {
      type: "button", class: "btn btn-small btn-danger", "aria-label": `Free seat ${s.seat}`,
      onclick: async () => {
        const sure = await confirmAction({ title: `Free seat ${s.seat}?`, text: `${s.name ?? "The learner"}'s session ends and someone else may take the seat.`, confirm: "Free seat" });
        if (!sure) return;
        await act(free, "The seat could not be freed", async () => {
          await call(`${path}/seats/${encodeURIComponent(s.seat)}`, { method: "DELETE" });
          toast(`Seat ${s.seat} freed`, "success");
          await refresh();
        });
      },
    }, "Free seat");
    return h("tr", { "data-seat": s.seat },
      h("th", { scope: "row" }, h("span", { class: "muted" }, `#${s.seat} `), s.name ?? "—"),
      h("td", {}, h("span", { class: `pill phase-${s.session_status}` }, s.session_status ?? "no session"), " ", relative(s.joined_at)),
      d.tasks.map((t) => cell(s.tasks?.[t.id])),
      h("td", {}, h("div", { class: "row" }, watch, free)));
  });
  return [
    h("div", { class: "table-scroll" },
      h("table", { class: "data-table seat-grid", "aria-label": "Seats and tasks" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Seat"), h("th", { scope: "col" }, "Session"),
          d.tasks.map((t) => h("th", { scope: "col", title: t.id }, t.title)),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, rows),
        h("tfoot", {}, h("tr", {},
          h("th", { scope: "row", colspan: 2 }, "Passed"),
          d.tasks.map((t) => h("td", {}, `${passed(t.id)}/${d.seats.length}`)),
          h("td", {}))))),
    h("p", { class: "legend muted" }, "✓ passed · ✗ n attempted n times, not passed · · not tried"),
  ];
}
