// The left side of a session: the steps with their status, the current
// step's instructions, Check with every check's outcome, and Hint.

import { ApiError, api } from "../api.js";
import { h, replace } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { toastError } from "../toast.js";

/** The instructions pane of a session. */
export class Steps {
  /**
   * `session`, `lab` (with steps); `onRun(text)` types into the terminal;
   * `onProgress(done, total)`; `onStale()`: the server says the session is
   * no longer running.
   */
  constructor({ session, lab, onRun, onProgress, onStale }) {
    this.onStale = onStale;
    this.session = session;
    this.lab = lab;
    this.onRun = onRun;
    this.onProgress = onProgress;
    this.tasks = lab.steps.map((s) => ({ id: s.id, title: s.title, status: "not-attempted" }));
    this.verdicts = new Map(); // task id -> last attempt
    this.hints = new Map(); // task id -> last hint
    this.index = 0;
    this.busy = false;

    this.stepper = h("ol", { class: "stepper", "aria-label": "Steps" });
    this.article = h("article", { class: "step", "aria-labelledby": "step-title" });
    this.result = h("div", { class: "result", id: "check-result", "aria-live": "polite" });
    this.hint = h("div", { class: "hint-box", id: "hint-result", "aria-live": "polite" });
    this.checkButton = h("button", { type: "button", class: "btn btn-primary", id: "check", onclick: () => this.check(), "aria-keyshortcuts": "Control+Enter" },
      "Check", h("kbd", {}, "Ctrl+↵"));
    this.hintButton = h("button", { type: "button", class: "btn", id: "hint", onclick: () => this.askHint(), "aria-keyshortcuts": "Control+Shift+Enter" }, "Hint");
    this.prevButton = h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.go(this.index - 1), "aria-label": "Previous step", title: "Previous step (Alt+[)" }, "←");
    this.nextButton = h("button", { type: "button", class: "btn btn-ghost", onclick: () => this.go(this.index + 1), "aria-label": "Next step", title: "Next step (Alt+])" }, "→");
    this.scroller = h("div", { class: "steps-scroll" }, this.article, this.result, this.hint);
    this.el = h("section", { class: "steps", "aria-label": "Instructions" },
      this.stepper,
      this.scroller,
      h("div", { class: "step-actions" }, this.checkButton, this.hintButton, h("span", { class: "spacer" }), this.prevButton, this.nextButton));
  }

  /** Loads the tasks' status and the last verdicts, and shows the first unfinished step. */
  async start() {
    const base = `/sessions/${encodeURIComponent(this.session)}`;
    try {
      const [tasks, attempts] = await Promise.all([api(`${base}/tasks`), api(`${base}/attempts`)]);
      this.tasks = tasks;
      for (const a of attempts) this.verdicts.set(a.task, a);
    } catch (e) {
      toastError(e, "The tasks could not be loaded");
    }
    const next = this.tasks.findIndex((t) => t.status !== "passed");
    this.go(next < 0 ? this.tasks.length - 1 : next, { focus: false });
  }

  get current() {
    return this.tasks[this.index];
  }

  /** Shows step `index`. */
  go(index, { focus = true } = {}) {
    if (index < 0 || index >= this.tasks.length) return;
    this.index = index;
    const step = this.lab.steps[index];
    const body = renderMarkdown(step.instructions, { onRun: this.onRun });
    // Steps often open with their title as a heading: it is shown once.
    const first = body.firstElementChild;
    if (first?.tagName === "H1" && first.textContent.trim().toLowerCase() === step.title.trim().toLowerCase()) first.remove();
    replace(this.article,
      h("p", { class: "step-count muted" }, `Step ${index + 1} of ${this.tasks.length}`),
      h("h2", { id: "step-title", class: "step-title", tabindex: "-1" }, step.title),
      body);
    this.renderStepper();
    this.renderVerdict();
    this.renderHint();
    this.prevButton.disabled = index === 0;
    this.nextButton.disabled = index === this.tasks.length - 1;
    this.scroller.scrollTop = 0;
    if (focus) this.focus();
  }

  renderStepper() {
    const done = this.tasks.filter((t) => t.status === "passed").length;
    this.onProgress?.(done, this.tasks.length);
    replace(this.stepper, this.tasks.map((t, i) => {
      const mark = { passed: "✓", failed: "✗" }[t.status] ?? String(i + 1);
      return h("li", {},
        h("button", {
          type: "button", class: `stepper-item status-${t.status}`, "aria-current": i === this.index ? "step" : null,
          "aria-label": `Step ${i + 1}: ${t.title} (${t.status.replace("-", " ")})`, onclick: () => this.go(i),
        }, h("span", { class: "stepper-mark", "aria-hidden": "true" }, mark), h("span", { class: "stepper-title" }, t.title)));
    }));
  }

  /** Runs the current task's check and shows the verdict. */
  async check() {
    if (this.busy) return;
    const task = this.current;
    const hadFocus = document.activeElement === this.checkButton;
    let next = null;
    this.busy = true;
    this.checkButton.disabled = true;
    this.checkButton.classList.add("is-busy");
    replace(this.result, h("p", { class: "muted checking" }, "Checking your work…"));
    try {
      const attempt = await api(`/sessions/${encodeURIComponent(this.session)}/tasks/${encodeURIComponent(task.id)}/check`, { method: "POST" });
      this.verdicts.set(task.id, attempt);
      task.status = attempt.status;
      task.attempts = (task.attempts ?? 0) + 1;
      this.renderStepper();
      next = this.renderVerdict();
    } catch (e) {
      if (e instanceof ApiError && e.code === "session_not_running") this.onStale?.();
      replace(this.result, h("div", { class: "verdict verdict-error", role: "alert" },
        h("h3", {}, "The check could not run"), h("p", {}, e.message), e.hint ? h("p", { class: "muted" }, e.hint) : null));
    } finally {
      this.busy = false;
      this.checkButton.disabled = false;
      this.checkButton.classList.remove("is-busy");
    }
    // A disabled button loses the focus: give it back, or to Next after a pass.
    if (hadFocus || document.activeElement === document.body) (next ?? this.checkButton).focus();
    this.result.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  renderVerdict() {
    const attempt = this.verdicts.get(this.current.id);
    if (!attempt) {
      replace(this.result);
      return null;
    }
    const v = attempt.verdict ?? {};
    const checks = v.checks ?? [];
    const failing = checks.filter((c) => !c.passed).length;
    const heading = {
      passed: "Passed: well done!",
      failed: `Not yet: ${failing} of ${checks.length} ${checks.length === 1 ? "check" : "checks"} failing`,
      "not-gradable": "This task could not be graded",
      error: "The check itself failed (not your fault)",
    }[attempt.status] ?? attempt.status;
    const when = new Date(attempt.created_at).toLocaleTimeString();
    const list = h("ul", { class: "checks" }, checks.map((c) => h("li", { class: `check ${c.passed ? "check-pass" : "check-fail"}`, "data-check": c.id },
      h("span", { class: "check-icon", "aria-hidden": "true" }, c.passed ? "✓" : "✗"),
      h("div", { class: "check-body" },
        h("p", { class: "check-message" }, h("span", { class: "visually-hidden" }, c.passed ? "Passed: " : "Failed: "), renderMarkdown(c.message, { inline: true })),
        !c.passed && c.hint ? h("p", { class: "check-hint" }, h("strong", {}, "Hint: "), renderMarkdown(c.hint, { inline: true })) : null))));
    const next = attempt.status === "passed" && this.index < this.tasks.length - 1
      ? h("button", { type: "button", class: "btn btn-primary", onclick: () => this.go(this.index + 1) }, "Next step →")
      : null;
    const finished = this.tasks.every((t) => t.status === "passed")
      ? h("p", { class: "all-done" }, "You have completed every task of this lab.")
      : null;
    replace(this.result, h("section", { class: `verdict verdict-${attempt.status}`, "data-status": attempt.status },
      h("h3", {}, heading, h("span", { class: "muted verdict-time" }, ` · ${when}`)),
      v.reason ? h("p", {}, v.reason) : null,
      checks.length ? list : null,
      finished, next));
    return next;
  }

  /** Asks the lab's hint provider for a hint on the current task. */
  async askHint() {
    const task = this.current;
    this.hintButton.disabled = true;
    try {
      const hint = await api(`/sessions/${encodeURIComponent(this.session)}/tasks/${encodeURIComponent(task.id)}/hint`, { method: "POST" });
      this.hints.set(task.id, hint.text ? hint : { text: null });
    } catch (e) {
      if (e instanceof ApiError && e.code === "hint_rate") {
        this.hints.set(task.id, { error: `${e.message}.` });
      } else {
        toastError(e, "No hint");
      }
    } finally {
      this.hintButton.disabled = false;
    }
    this.renderHint();
  }

  renderHint() {
    const hint = this.hints.get(this.current.id);
    if (!hint) return replace(this.hint);
    if (hint.error) return replace(this.hint, h("p", { class: "hint hint-wait" }, hint.error));
    if (!hint.text) return replace(this.hint, h("p", { class: "hint" }, "There is no further hint for this task."));
    replace(this.hint, h("aside", { class: "hint", "aria-label": "Hint" },
      h("h3", {}, hint.level ? `Hint ${hint.level}` : "Hint"),
      renderMarkdown(hint.text, { onRun: this.onRun })));
  }

  /** Re-reads the tasks' status (another tab may have checked). */
  async refresh() {
    try {
      this.tasks = await api(`/sessions/${encodeURIComponent(this.session)}/tasks`);
      this.renderStepper();
    } catch { /* shown elsewhere */ }
  }

  /** Puts the keyboard on the current step's title, at the top of the instructions. */
  focus() {
    this.article.querySelector("#step-title")?.focus();
  }

  /** Stops taking input: the session is over. */
  disable() {
    this.checkButton.disabled = true;
    this.hintButton.disabled = true;
  }
}
