// The right side of a session: tabs of terminals (reattached after a
// reload from the server's list) and the file editor.

import { ApiError, api } from "../api.js";
import { h } from "../dom.js";
import { toastError } from "../toast.js";
import { Editor } from "./editor.js";
import { TerminalView } from "./terminal.js";

/** Terminals and editor of one session. */
export class WorkArea {
  /** `session`: its id; `onTerminalEnded(reason)`: a shell ended (the session may have). */
  constructor({ session, onTerminalEnded }) {
    this.session = session;
    this.onTerminalEnded = onTerminalEnded;
    this.tabs = []; // { id, kind, tab, panel, view }
    this.active = null;
    this.opened = 0; // terminals opened on this page, to number their tabs
    this.tablist = h("div", { class: "tablist", role: "tablist", "aria-label": "Terminals and editor" });
    this.addButton = h("button", {
      type: "button", class: "btn btn-small tab-add", title: "Open another terminal (Alt+N)",
      "aria-label": "Open another terminal", onclick: () => this.openTerminal(),
    }, "+");
    this.panels = h("div", { class: "panels" });
    this.el = h("section", { class: "workarea", "aria-label": "Your environment" },
      h("div", { class: "tabbar" }, this.tablist, this.addButton), this.panels);
    this.tablist.addEventListener("keydown", (e) => this.arrowKeys(e));
    this.onlineListener = () => this.tabs.forEach((t) => t.view.reconnectNow?.());
    addEventListener("online", this.onlineListener);
  }

  /** Attaches to the session's open terminals, or opens a first one; adds the editor. */
  async start() {
    this.editor = new Editor({ session: this.session });
    this.addTab({ id: "editor", kind: "editor", label: "Editor", view: this.editor });
    let open = [];
    try {
      open = await api(`/sessions/${encodeURIComponent(this.session)}/terminals`);
    } catch (e) {
      toastError(e, "The terminals could not be listed");
    }
    if (open.length === 0) {
      await this.openTerminal();
    } else {
      for (const t of open) this.attach(t.id);
      this.select(this.tabs.find((t) => t.kind === "terminal"));
    }
  }

  /** Opens a new shell on the session's machine and shows it. */
  async openTerminal() {
    this.addButton.disabled = true;
    try {
      // The size of the visible panel, so the shell starts at the right size.
      const { cols, rows } = this.activeTerminal()?.size() ?? { cols: 100, rows: 30 };
      const created = await api(`/sessions/${encodeURIComponent(this.session)}/terminals`, { method: "POST", json: { cols, rows } });
      const tab = this.attach(created.id);
      this.select(tab);
      tab.view.focus();
    } catch (e) {
      toastError(e, e instanceof ApiError && e.code === "too_many_terminals" ? "No more terminals" : "The terminal could not be opened");
    } finally {
      this.addButton.disabled = false;
    }
  }

  attach(id) {
    const view = new TerminalView({
      session: this.session,
      id,
      onState: (state) => { tab.tab.dataset.state = state; },
      onEnded: (reason) => this.onTerminalEnded?.(reason),
      onClose: () => this.closeTerminal(tab),
      onReplace: () => this.closeTerminal(tab).then(() => this.openTerminal()),
    });
    this.opened += 1;
    const tab = this.addTab({ id, kind: "terminal", label: `Terminal ${this.opened}`, view });
    view.open();
    view.connect();
    return tab;
  }

  addTab({ id, kind, label, view }) {
    const tabId = `tab-${id}`;
    const panelId = `panel-${id}`;
    const button = h("button", {
      type: "button", role: "tab", id: tabId, class: "tab", "aria-selected": "false", "aria-controls": panelId, tabindex: "-1",
      "data-kind": kind, onclick: () => this.select(entry),
    }, h("span", { class: "tab-dot", "aria-hidden": "true" }), label);
    const wrapper = h("div", { class: "tab-wrap" }, button);
    if (kind === "terminal") {
      wrapper.append(h("button", {
        type: "button", class: "tab-close", "aria-label": `Close ${label}`, title: `Close ${label}`,
        onclick: () => this.closeTerminal(entry),
      }, "×"));
    }
    const panel = h("div", { class: "panel", role: "tabpanel", id: panelId, "aria-labelledby": tabId, hidden: true }, view.el);
    const entry = { id, kind, tab: button, wrapper, panel, view };
    // Terminals before the editor, in the order opened.
    const editor = this.tabs.find((t) => t.kind === "editor");
    if (kind === "terminal" && editor) {
      editor.wrapper.before(wrapper);
      this.tabs.splice(this.tabs.indexOf(editor), 0, entry);
    } else {
      this.tablist.append(wrapper);
      this.tabs.push(entry);
    }
    this.panels.append(panel);
    return entry;
  }

  select(entry) {
    if (!entry) return;
    for (const t of this.tabs) {
      const on = t === entry;
      t.tab.setAttribute("aria-selected", String(on));
      t.tab.tabIndex = on ? 0 : -1;
      t.panel.hidden = !on;
    }
    this.active = entry;
    // A panel that was hidden has no size until shown.
    requestAnimationFrame(() => {
      entry.view.fit?.();
      entry.view.activate?.();
    });
  }

  async closeTerminal(entry) {
    try {
      await api(`/sessions/${encodeURIComponent(this.session)}/terminals/${encodeURIComponent(entry.id)}`, { method: "DELETE" });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toastError(e, "The terminal could not be closed");
    }
    entry.view.dispose();
    entry.wrapper.remove();
    entry.panel.remove();
    const index = this.tabs.indexOf(entry);
    this.tabs.splice(index, 1);
    if (this.active === entry) this.select(this.tabs.find((t) => t.kind === "terminal") ?? this.tabs[0]);
  }

  /** Left/Right/Home/End move between tabs, as in any tab list. */
  arrowKeys(e) {
    const i = this.tabs.findIndex((t) => t.tab === document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: this.tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = this.tabs[(to + this.tabs.length) % this.tabs.length];
    this.select(next);
    next.tab.focus();
  }

  /** The terminal shown, or the most recent one. */
  activeTerminal() {
    if (this.active?.kind === "terminal") return this.active.view;
    return this.tabs.filter((t) => t.kind === "terminal" && !t.view.ended).at(-1)?.view ?? null;
  }

  /** Shows a terminal and puts the keyboard in it. */
  focusTerminal() {
    const view = this.activeTerminal();
    const entry = this.tabs.find((t) => t.view === view);
    if (entry) {
      this.select(entry);
      view.focus();
    }
  }

  /** Shows the editor. */
  showEditor() {
    this.select(this.tabs.find((t) => t.kind === "editor"));
  }

  /** Types `text` into the active terminal. */
  run(text) {
    const view = this.activeTerminal();
    if (!view) return;
    this.focusTerminal();
    view.type(text);
  }

  /** Saves the editor's file, when the editor is shown. */
  save() {
    if (this.active?.kind === "editor") this.editor.save();
  }

  /** Leaves the page: sockets close, shells stay on the server. */
  dispose() {
    removeEventListener("online", this.onlineListener);
    for (const t of this.tabs) t.view.dispose();
  }
}
