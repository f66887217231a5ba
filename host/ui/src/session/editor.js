// The file editor: the workspace's tree on the left, CodeMirror on the
// right, reading and writing through the files API.

import { indentWithTab } from "@codemirror/commands";
import { Compartment, EditorState } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { ApiError, api, query } from "../api.js";
import { h, replace } from "../dom.js";
import { toast, toastError } from "../toast.js";
import { languageFor } from "./languages.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The editor tab. */
export class Editor {
  constructor({ session }) {
    this.session = session;
    this.path = null;
    this.saved = "";
    this.expanded = new Set([""]);
    this.language = new Compartment();

    this.tree = h("ul", { class: "file-tree", role: "list", "aria-label": "Files in the workspace" });
    this.pathLabel = h("span", { class: "editor-path", id: "editor-path" }, "No file open");
    this.state = h("span", { class: "editor-state muted", "aria-live": "polite" });
    this.langLabel = h("span", { class: "muted editor-lang" });
    this.saveButton = h("button", { type: "button", class: "btn btn-small btn-primary", disabled: true, title: "Save (Ctrl+S)", onclick: () => this.save() }, "Save");
    this.deleteButton = h("button", { type: "button", class: "btn btn-small", disabled: true, onclick: () => this.remove() }, "Delete");
    this.host = h("div", { class: "editor-host" });
    this.placeholder = h("div", { class: "editor-empty" },
      h("p", {}, "Open a file from the list, or create one."),
      h("p", { class: "muted" }, "Ctrl+S saves. Changes made in the terminal show up when you come back to this tab."));

    this.view = new EditorView({
      parent: this.host,
      state: this.freshState(""),
    });
    this.view.contentDOM.setAttribute("aria-labelledby", "editor-path");
    this.host.hidden = true;

    this.el = h("div", { class: "editor" },
      h("aside", { class: "files", "aria-label": "Files" },
        h("div", { class: "files-bar" },
          h("span", { class: "files-title" }, "Workspace"),
          h("button", { type: "button", class: "btn btn-small", onclick: () => this.create(), "aria-label": "New file" }, "New file"),
          h("button", { type: "button", class: "btn btn-small", onclick: () => this.refresh(), "aria-label": "Refresh the file list", title: "Refresh" }, "↻")),
        this.tree),
      h("section", { class: "editor-main" },
        h("div", { class: "editor-bar" }, this.pathLabel, this.state, this.langLabel, this.deleteButton, this.saveButton),
        this.placeholder,
        this.host));
  }

  freshState(doc, language = []) {
    return EditorState.create({
      doc,
      extensions: [
        basicSetup,
        oneDark,
        keymap.of([indentWithTab, { key: "Mod-s", run: () => { this.save(); return true; } }]),
        this.language.of(language),
        EditorView.updateListener.of((u) => { if (u.docChanged) this.showDirty(); }),
      ],
    });
  }

  get dirty() {
    return this.path !== null && this.view.state.doc.toString() !== this.saved;
  }

  showDirty() {
    this.state.textContent = this.dirty ? "● unsaved" : "";
    this.saveButton.disabled = !this.dirty;
  }

  /** The tab was shown: refresh the list, and the open file if it has no unsaved edits. */
  activate() {
    this.refresh();
    if (this.path && !this.dirty) this.open(this.path, { quiet: true });
  }

  url(path, rest = "") {
    return `/sessions/${encodeURIComponent(this.session)}/files${rest}${query({ path })}`;
  }

  async refresh() {
    const rendered = await this.renderDir("");
    if (rendered) replace(this.tree, rendered);
  }

  /** The items of directory `path` (and of its expanded subdirectories). */
  async renderDir(path, depth = 0) {
    let listing;
    try {
      listing = await api(this.url(path));
    } catch (e) {
      if (depth === 0) replace(this.tree, h("li", { class: "muted" }, `The files could not be listed: ${e.message}`));
      return null;
    }
    const items = [];
    for (const entry of listing.entries) {
      const isDir = entry.kind === "dir";
      const open = isDir && this.expanded.has(entry.path);
      const button = h("button", {
        type: "button",
        class: `file-item file-${entry.kind}${entry.path === this.path ? " file-current" : ""}`,
        style: `padding-left: ${0.5 + depth * 0.9}rem`,
        "data-path": entry.path,
        "aria-expanded": isDir ? String(open) : null,
        "aria-current": entry.path === this.path ? "true" : null,
        onclick: () => (isDir ? this.toggle(entry.path) : this.open(entry.path)),
      }, h("span", { class: "file-icon", "aria-hidden": "true" }, isDir ? (open ? "▾" : "▸") : "·"), entry.name);
      items.push(h("li", {}, button));
      if (open) {
        const inner = await this.renderDir(entry.path, depth + 1);
        if (inner) items.push(...inner);
      }
    }
    if (depth === 0 && items.length === 0) items.push(h("li", { class: "muted file-none" }, "The workspace is empty."));
    if (listing.truncated) items.push(h("li", { class: "muted" }, "Some entries are not shown."));
    return items;
  }

  async toggle(path) {
    if (this.expanded.has(path)) this.expanded.delete(path);
    else this.expanded.add(path);
    await this.refresh();
    this.tree.querySelector(`[data-path="${CSS.escape(path)}"]`)?.focus();
  }

  /** Opens `path` in the editor (asking first when edits would be lost). */
  async open(path, { quiet = false } = {}) {
    if (!quiet && this.dirty && path !== this.path && !confirm(`Discard your unsaved changes to ${this.path}?`)) return;
    let bytes;
    try {
      bytes = await api(this.url(path, "/content"), { as: "bytes" });
    } catch (e) {
      if (!quiet) toastError(e, `${path} could not be opened`);
      return;
    }
    let text;
    try {
      text = decoder.decode(bytes);
      if (text.includes("\0")) throw new Error("binary");
    } catch {
      toast(`${path} is not a text file; use the terminal for it.`, "warn");
      return;
    }
    const [name, language] = languageFor(path, text.split("\n", 1)[0]);
    if (quiet && path === this.path && text === this.view.state.doc.toString()) return;
    this.path = path;
    this.saved = text;
    this.view.setState(this.freshState(text, language ?? []));
    this.view.contentDOM.setAttribute("aria-labelledby", "editor-path");
    this.pathLabel.textContent = path;
    this.langLabel.textContent = name;
    this.placeholder.hidden = true;
    this.host.hidden = false;
    this.deleteButton.disabled = false;
    this.showDirty();
    this.markCurrent();
    if (!quiet) this.view.focus();
  }

  markCurrent() {
    for (const b of this.tree.querySelectorAll(".file-item")) {
      const on = b.dataset.path === this.path;
      b.classList.toggle("file-current", on);
      if (on) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    }
  }

  /** Writes the open file. */
  async save() {
    if (this.path === null) return;
    const text = this.view.state.doc.toString();
    this.saveButton.disabled = true;
    this.state.textContent = "saving…";
    try {
      await api(this.url(this.path, "/content"), { method: "PUT", body: text });
      this.saved = text;
      this.showDirty();
      this.state.textContent = "saved";
      // The first line may have said what language this is.
      const [name, language] = languageFor(this.path, text.split("\n", 1)[0]);
      if (name !== this.langLabel.textContent) {
        this.langLabel.textContent = name;
        this.view.dispatch({ effects: this.language.reconfigure(language ?? []) });
      }
      this.refresh();
    } catch (e) {
      this.showDirty();
      toastError(e, `${this.path} could not be saved`);
    }
  }

  /** Asks for a path, creates an empty file there and opens it. */
  async create() {
    const path = await ask("New file", "Path in the workspace, for example notes/todo.txt");
    if (!path) return;
    try {
      await api(this.url(path, "/content"), { method: "PUT", body: "" });
    } catch (e) {
      return toastError(e, `${path} could not be created`);
    }
    for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) this.expanded.add(path.slice(0, i));
    await this.refresh();
    await this.open(path);
  }

  async remove() {
    const path = this.path;
    if (!path || !confirm(`Delete ${path}?`)) return;
    try {
      await api(this.url(path), { method: "DELETE", as: "none" });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) return toastError(e, `${path} could not be deleted`);
    }
    this.path = null;
    this.saved = "";
    this.view.setState(this.freshState(""));
    this.pathLabel.textContent = "No file open";
    this.langLabel.textContent = "";
    this.host.hidden = true;
    this.placeholder.hidden = false;
    this.deleteButton.disabled = true;
    this.showDirty();
    this.refresh();
  }

  fit() {
    this.view.requestMeasure();
  }

  dispose() {
    this.view.destroy();
  }
}

/** A small modal asking for one line of text; resolves to it, or null. */
function ask(title, label) {
  return new Promise((resolve) => {
    const input = h("input", { type: "text", id: "ask-input", required: true, autocomplete: "off", spellcheck: "false" });
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "ask-title" },
      h("form", { method: "dialog" },
        h("h2", { id: "ask-title" }, title),
        h("label", { for: "ask-input" }, label),
        input,
        h("div", { class: "dialog-actions" },
          h("button", { type: "button", class: "btn", onclick: () => dialog.close("") }, "Cancel"),
          h("button", { type: "submit", class: "btn btn-primary", value: "ok" }, "Create"))));
    dialog.addEventListener("close", () => {
      const value = dialog.returnValue === "ok" ? input.value.trim() : "";
      dialog.remove();
      resolve(value || null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
