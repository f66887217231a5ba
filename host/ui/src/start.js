// Starting a lab: a dialog that shows progress while the server prepares
// the environment, waits its turn when the server is full (429 with the
// learner's place and Retry-After), and opens the session when it is ready.

import { ApiError, api } from "./api.js";
import { clock, h, replace, sleep } from "./dom.js";
import { navigate } from "./router.js";

/** Starts (or resumes) `lab` and goes to its session page. */
export function startLab(lab, title = lab) {
  const status = h("p", { class: "start-status", id: "start-status" }, "Reserving a machine for you…");
  const elapsed = h("span", { class: "muted" }, "0:00");
  const bar = h("div", { class: "progress-indeterminate", role: "progressbar", "aria-label": "Starting the lab" });
  const body = h("div", { class: "start-body" }, status, bar);
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": "start-title", "aria-describedby": "start-status" },
    h("h2", { id: "start-title" }, `Starting ${title}`),
    body,
    h("div", { class: "dialog-actions" }, h("span", { class: "muted" }, "Elapsed ", elapsed), cancel));
  document.body.append(dialog);
  dialog.showModal();

  const aborter = new AbortController();
  const began = Date.now();
  // While the server prepares the machine (its answer comes when it is
  // ready), say what is going on; the queue says more itself.
  let waiting = false;
  const ticker = setInterval(() => {
    const seconds = (Date.now() - began) / 1000;
    elapsed.textContent = clock(seconds);
    if (waiting) return;
    if (seconds > 15) status.textContent = "Still preparing: the first start of a lab on a server can take a little longer…";
    else if (seconds > 2) status.textContent = "Creating your machine and its network…";
  }, 500);
  const close = () => {
    aborter.abort();
    clearInterval(ticker);
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener("click", close);
  dialog.addEventListener("cancel", close);

  const fail = (error, retry) => {
    clearInterval(ticker);
    bar.remove();
    replace(body,
      h("p", { class: "error-text", role: "alert" }, error.message),
      error.hint ? h("p", { class: "muted" }, error.hint) : null);
    const again = h("button", { type: "button", class: "btn btn-primary", onclick: () => { close(); retry(); } }, "Try again");
    cancel.textContent = "Close";
    cancel.before(again);
    again.focus();
  };

  (async () => {
    const signal = aborter.signal;
    for (;;) {
      try {
        const session = await api("/sessions", { method: "POST", json: { lab }, signal });
        if (signal.aborted) return;
        status.textContent = session.resumed ? "Your session is still running: reopening it…" : "Ready.";
        close();
        navigate(`/sessions/${encodeURIComponent(session.id)}`);
        return;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.code === "capacity_full") {
          waiting = true;
          await waitInQueue(status, e, signal);
          waiting = false;
          continue;
        }
        if (e instanceof ApiError && e.code === "learner_limit") {
          await chooseSessionToEnd(body, signal);
          status.textContent = "Reserving a machine for you…";
          replace(body, status, bar);
          continue;
        }
        fail(e, () => startLab(lab, title));
        return;
      }
    }
  })().catch(() => {});
}

/** Counts down to the server's Retry-After, showing the learner's place. */
async function waitInQueue(status, error, signal) {
  const wait = Math.max(1, error.retryAfter ?? 10);
  const place = error.queuePosition;
  for (let left = wait; left > 0; left--) {
    status.textContent = place
      ? `The server is full. You are #${place} in the queue; retrying in ${left} s…`
      : `The server is full; retrying in ${left} s…`;
    await sleep(1000, signal);
  }
  status.textContent = "Asking again…";
}

/** The learner already runs as many sessions as allowed: offer to end one, and wait until they do. */
async function chooseSessionToEnd(body, signal) {
  const mine = (await api("/sessions", { signal })).filter((s) => s.status === "running" || s.status === "starting");
  let done;
  const ended = new Promise((resolve) => { done = resolve; });
  const list = h("ul", { class: "plain-list" }, mine.map((s) => h("li", { class: "row" },
    h("span", {}, h("strong", {}, s.lab), " ", h("span", { class: "muted" }, s.status)),
    h("a", { class: "btn btn-small", href: `/sessions/${encodeURIComponent(s.id)}` }, "Open"),
    h("button", {
      type: "button", class: "btn btn-small btn-danger",
      onclick: async (e) => {
        e.target.disabled = true;
        await api(`/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" }).catch(() => {});
        done();
      },
    }, "End it"))));
  replace(body,
    h("p", { role: "alert" }, "You already have as many labs running as you may. End one to start this lab:"),
    list);
  body.querySelector("button")?.focus();
  await Promise.race([ended, new Promise((_, reject) => signal.addEventListener("abort", reject, { once: true }))]);
}
