// Keyboard shortcuts of a session page. They are read in the capture phase
// so that the terminal and the editor, which take most keys, do not keep
// them.

import { h, typingIn } from "../dom.js";

const LIST = [
  ["Ctrl+Enter", "Check the current task"],
  ["Ctrl+Shift+Enter", "Ask for a hint"],
  ["Alt+[  /  Alt+]", "Previous / next step"],
  ["Ctrl+`", "Go to the terminal"],
  ["Alt+I", "Back to the instructions (Tab stays in the terminal for the shell)"],
  ["Alt+N", "Open another terminal"],
  ["Alt+E", "Open the editor"],
  ["Ctrl+S", "Save the file in the editor"],
  ["← → in the tabs", "Move between terminals and the editor"],
  ["?", "Show this list"],
];

/** Installs the shortcuts calling `actions`; returns their removal. */
export function installShortcuts(actions) {
  const onKey = (e) => {
    const mod = e.ctrlKey || e.metaKey;
    let action = null;
    if (mod && e.key === "Enter") action = e.shiftKey ? actions.hint : actions.check;
    else if (e.altKey && !mod && e.code === "BracketLeft") action = actions.prev;
    else if (e.altKey && !mod && e.code === "BracketRight") action = actions.next;
    else if (e.altKey && !mod && e.code === "KeyN") action = actions.newTerminal;
    else if (e.altKey && !mod && e.code === "KeyE") action = actions.editor;
    else if (e.altKey && !mod && e.code === "KeyI") action = actions.instructions;
    else if (mod && !e.shiftKey && e.code === "Backquote") action = actions.terminal;
    else if (mod && !e.shiftKey && e.code === "KeyS") action = actions.save;
    else if (e.key === "?" && !mod && !e.altKey && !typingIn(e.target) && !document.querySelector("dialog[open]")) action = showShortcuts;
    if (!action) return;
    e.preventDefault();
    e.stopPropagation();
    action();
  };
  addEventListener("keydown", onKey, true);
  return () => removeEventListener("keydown", onKey, true);
}

/** Shows the list of shortcuts in a dialog. */
export function showShortcuts() {
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title" }, "Keyboard shortcuts"),
    h("table", { class: "keys" }, h("tbody", {}, LIST.map(([keys, what]) => h("tr", {}, h("th", { scope: "row" }, h("kbd", {}, keys)), h("td", {}, what))))),
    h("form", { method: "dialog", class: "dialog-actions" }, h("button", { type: "submit", class: "btn btn-primary", autofocus: true }, "Close")));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
