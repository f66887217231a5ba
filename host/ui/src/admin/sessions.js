// Sessions: every live session on the server, whose it is and how active,
// with Extend and End. The list refreshes itself while it is open.

import { h, replace } from "../dom.js";
import { toast } from "../toast.js";
import { act, call, confirmAction, errorBox, relative, row, table } from "./ui.js";

const REFRESH_MS = 10_000;

/** Mounts the Sessions tab in `panel`. */
export function mountSessions(panel, { signal }) {
  const list = h("div", { "aria-live": "polite", "aria-busy": "true" });
  const refresh = h("button", { type: "button", class: "btn btn-small", onclick: () => act(refresh, "Refreshing failed", load) }, "Refresh");
  async function load() {
    try {
      const sessions = await call("/admin/sessions", { signal });
      replace(list, table("Live sessions", ["Session", "Owner", "Lab", "Phase", "Last activity", "Expires", ""],
        sessions.map((s) => sessionRow(s, load)), "No session is live."));
    } catch (e) {
      if (e?.name !== "AbortError") replace(list, errorBox(e, "The sessions could not be listed"));
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }
  panel.append(
    h("div", { class: "row" }, h("h1", {}, "Sessions"), h("span", { class: "spacer" }), refresh),
    h("p", { class: "muted" }, "Sessions starting, running or ending, with their learner. Ending one removes its environment; a lab that keeps workspaces saves it first."),
    list);
  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}

function sessionRow(s, reload) {
  const path = `/admin/sessions/${encodeURIComponent(s.id)}`;
  const extend = h("button", {
    type: "button", class: "btn btn-small", "aria-label": `Extend session ${s.id}`, disabled: s.status !== "running",
    onclick: () => act(extend, "No more time", async () => {
      await call(`${path}/extend`, { method: "POST" });
      toast(`Session ${s.id} extended`, "success");
      await reload();
    }),
  }, "Extend");
  const end = h("button", {
    type: "button", class: "btn btn-small btn-danger", "aria-label": `End session ${s.id}`,
    onclick: async () => {
      const sure = await confirmAction({
        title: "End this session?",
        text: `The learner's terminals close and the ${s.lab} environment is removed. They see that an administrator ended it.`,
        confirm: "End the session",
      });
      if (!sure) return;
      await act(end, "The session could not be ended", async () => {
        await call(path, { method: "DELETE" });
        toast(`Session ${s.id} ended`, "success");
        await reload();
      });
    },
  }, "End");
  return row([
    h("code", {}, s.id),
    s.owner ?? h("span", { class: "muted" }, "warm pool"),
    s.lab,
    h("span", { class: `pill phase-${s.phase}` }, s.phase),
    relative(s.last_activity_at),
    relative(s.expires_at),
    h("div", { class: "row" }, extend, end),
  ], { "data-session": s.id });
}
