// A session's page: the header with progress and remaining time (Extend,
// End), the steps on the left and the environment on the right, and the
// states around them: starting, ended, failed, not found.

import { ApiError, api } from "../api.js";
import { clock, h, replace, sleep } from "../dom.js";
import { title, topbar } from "../layout.js";
import { startLab } from "../start.js";
import { toast, toastError } from "../toast.js";
import { installShortcuts, showShortcuts } from "./shortcuts.js";
import { Splitter } from "./splitter.js";
import { Steps } from "./steps.js";
import { WorkArea } from "./workarea.js";

const END_REASONS = {
  learner: "you ended it",
  expired: "its time ran out",
  idle: "it was idle for too long",
  admin: "an administrator ended it",
  lost: "its environment was lost",
  workshop: "its workshop ended or your seat was freed",
};

/** Mounts the page of session `id`. */
export function mountSession(root, { id }) {
  const page = new SessionPage(root, id);
  page.load();
  return () => page.dispose();
}

class SessionPage {
  constructor(root, id) {
    this.root = root;
    this.id = id;
    this.aborter = new AbortController();
    this.session = null;
    this.lab = null;
    this.deadline = null; // local time the session expires, from remaining_seconds
    this.warned = false;

    this.progress = h("div", { class: "progress", hidden: true },
      h("span", { class: "progress-text", id: "progress-text" }),
      h("div", { class: "progress-bar", role: "progressbar", "aria-labelledby": "progress-text", "aria-valuemin": "0" }, h("div", { class: "progress-fill" })));
    this.timer = h("span", { class: "timer", id: "timer", role: "timer", "aria-label": "Time left", hidden: true });
    this.extendButton = h("button", { type: "button", class: "btn btn-small", hidden: true, onclick: () => this.extend() }, "Extend");
    this.endButton = h("button", { type: "button", class: "btn btn-small btn-danger", hidden: true, onclick: () => this.confirmEnd() }, "End");
    this.crumb = h("span", { class: "crumb-title" });
    this.main = h("main", { id: "main", class: "session", tabindex: "-1" }, h("p", { class: "muted centered" }, "Loading your session…"));
    root.append(
      topbar(
        h("nav", { class: "crumbs", "aria-label": "Breadcrumbs" }, h("a", { href: "/" }, "Labs"), this.crumb),
        h("div", { class: "session-controls" },
          this.progress, this.timer, this.extendButton, this.endButton,
          h("button", { type: "button", class: "btn btn-small btn-ghost", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)", onclick: showShortcuts }, "?"))),
      this.main);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.poller = setInterval(() => this.poll(), 15_000);
    this.visibility = () => { if (!document.hidden) this.poll(); };
    document.addEventListener("visibilitychange", this.visibility);
  }

  async load() {
    try {
      this.session = await api(`/sessions/${encodeURIComponent(this.id)}`, { signal: this.aborter.signal });
      this.lab = await api(`/labs/${encodeURIComponent(this.session.lab)}`, { signal: this.aborter.signal });
    } catch (e) {
      if (e?.name === "AbortError") return;
      if (e instanceof ApiError && e.status === 404) return this.showMissing();
      return this.showLoadError(e);
    }
    title(this.lab.title);
    this.crumb.textContent = this.lab.title;
    this.show();
  }

  /** Shows what the session's status calls for. */
  show() {
    const s = this.session;
    this.main.dataset.status = s.status;
    if (s.status === "starting") return this.showStarting();
    if (s.status === "running") return this.showRunning();
    return this.showEnded();
  }

  async showStarting() {
    replace(this.main, h("div", { class: "centered state-panel" },
      h("h1", {}, "Preparing your environment…"),
      h("div", { class: "progress-indeterminate", role: "progressbar", "aria-label": "Starting" }),
      h("p", { class: "muted" }, "This usually takes a few seconds.")));
    while (this.session.status === "starting" && !this.aborter.signal.aborted) {
      try {
        await sleep(1000, this.aborter.signal);
        this.session = await api(`/sessions/${encodeURIComponent(this.id)}`, { signal: this.aborter.signal });
      } catch (e) {
        if (e?.name === "AbortError") return;
      }
    }
    this.show();
  }

  showRunning() {
    if (this.work) return;
    this.updateClock();
    this.steps = new Steps({
      session: this.id,
      lab: this.lab,
      onRun: (text) => this.work.run(text),
      onProgress: (done, total) => this.showProgress(done, total),
      onStale: () => this.poll(),
    });
    this.work = new WorkArea({ session: this.id, onTerminalEnded: () => this.poll() });
    const split = new Splitter(this.steps.el, this.work.el, { key: "proctor.split", label: "Resize the instructions" });
    replace(this.main, split.el);
    this.steps.start();
    this.work.start();
    this.removeShortcuts = installShortcuts({
      check: () => this.steps.check(),
      hint: () => this.steps.askHint(),
      prev: () => this.steps.go(this.steps.index - 1),
      next: () => this.steps.go(this.steps.index + 1),
      terminal: () => this.work.focusTerminal(),
      newTerminal: () => this.work.openTerminal(),
      editor: () => this.work.showEditor(),
      instructions: () => this.steps.focus(),
      save: () => this.work.save(),
    });
  }

  showEnded() {
    this.teardownWork();
    this.timer.hidden = this.extendButton.hidden = this.endButton.hidden = true;
    const s = this.session;
    const failed = s.status === "failed";
    const why = failed ? `The environment could not be started${s.error ? `: ${s.error}` : "."}` : `This session has ended: ${END_REASONS[s.end_reason] ?? "it is over"}.`;
    const again = h("button", { type: "button", class: "btn btn-primary btn-large", onclick: () => startLab(this.lab.id, this.lab.title) }, "Start again");
    replace(this.main, h("div", { class: "centered state-panel ended", role: "alert" },
      h("h1", {}, failed ? "This lab could not start" : "Session ended"),
      h("p", {}, why),
      h("p", { class: "muted" }, "Starting again gives you a fresh environment; labs that keep your workspace bring your files back."),
      h("div", { class: "row" }, again, h("a", { class: "btn btn-large", href: "/" }, "All labs"))));
    again.focus();
  }

  showMissing() {
    title("Session not found");
    replace(this.main, h("div", { class: "centered state-panel" },
      h("h1", {}, "No such session"),
      h("p", {}, "This session does not exist, or it belongs to another browser."),
      h("a", { class: "btn btn-primary", href: "/" }, "See all labs")));
  }

  showLoadError(e) {
    replace(this.main, h("div", { class: "centered state-panel", role: "alert" },
      h("h1", {}, "The session could not be loaded"),
      h("p", {}, e.message),
      h("button", { type: "button", class: "btn btn-primary", onclick: () => this.load() }, "Try again")));
  }

  showProgress(done, total) {
    this.progress.hidden = false;
    this.progress.querySelector(".progress-text").textContent = `${done}/${total} tasks`;
    const bar = this.progress.querySelector(".progress-bar");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(done));
    bar.querySelector(".progress-fill").style.width = `${total ? (100 * done) / total : 0}%`;
  }

  /** Takes the session's remaining time as the server counts it. */
  updateClock() {
    const s = this.session;
    this.deadline = s.remaining_seconds != null ? Date.now() + s.remaining_seconds * 1000 : null;
    const running = s.status === "running";
    this.timer.hidden = !running || this.deadline === null;
    this.extendButton.hidden = this.endButton.hidden = !running;
    this.tick();
  }

  tick() {
    if (this.deadline === null || this.session?.status !== "running") return;
    const left = Math.max(0, (this.deadline - Date.now()) / 1000);
    this.timer.textContent = `${clock(left)} left`;
    this.timer.classList.toggle("timer-low", left < 300);
    this.timer.classList.toggle("timer-critical", left < 60);
    if (left < 300 && !this.warned) {
      this.warned = true;
      toast("Less than 5 minutes left. Press Extend for more time.", "warn", 10_000);
    }
    if (left === 0) this.poll();
  }

  /** Re-reads the session: its time, and whether it ended. */
  async poll() {
    if (!this.session || this.aborter.signal.aborted) return;
    try {
      const fresh = await api(`/sessions/${encodeURIComponent(this.id)}`, { signal: this.aborter.signal });
      const was = this.session.status;
      this.session = fresh;
      this.updateClock();
      if (fresh.status !== was) this.show();
    } catch { /* the next poll tries again */ }
  }

  async extend() {
    this.extendButton.disabled = true;
    try {
      this.session = await api(`/sessions/${encodeURIComponent(this.id)}/extend`, { method: "POST" });
      this.warned = false;
      this.updateClock();
      toast(`Extended: ${clock(this.session.remaining_seconds)} left.`, "success");
    } catch (e) {
      toastError(e, "No more time");
    } finally {
      this.extendButton.disabled = false;
    }
  }

  confirmEnd() {
    const yes = h("button", { type: "submit", class: "btn btn-danger", value: "end" }, "End the session");
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "end-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "end-title" }, "End this session?"),
        h("p", {}, "Your terminals close and the environment is removed."),
        h("div", { class: "dialog-actions" },
          h("button", { type: "submit", class: "btn", value: "keep", autofocus: true }, "Keep working"),
          yes)));
    dialog.addEventListener("close", async () => {
      dialog.remove();
      if (dialog.returnValue !== "end") return;
      try {
        this.session = await api(`/sessions/${encodeURIComponent(this.id)}`, { method: "DELETE" });
        this.show();
      } catch (e) {
        toastError(e, "The session could not be ended");
      }
    });
    document.body.append(dialog);
    dialog.showModal();
  }

  teardownWork() {
    this.removeShortcuts?.();
    this.removeShortcuts = null;
    this.steps?.disable();
    this.work?.dispose();
    this.work = null;
    this.steps = null;
  }

  dispose() {
    this.aborter.abort();
    clearInterval(this.ticker);
    clearInterval(this.poller);
    document.removeEventListener("visibilitychange", this.visibility);
    this.teardownWork();
  }
}
