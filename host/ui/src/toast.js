// Short messages in a live region, so screen readers announce them too.

import { h } from "./dom.js";

/** Shows `message` for a few seconds; `kind` is info, success, warn or error. */
export function toast(message, kind = "info", ms = 5000) {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), ms);
}

/** Shows an API or network error as a toast, with its hint. */
export function toastError(error, prefix = "") {
  const text = error?.hint ? `${error.message} — ${error.hint}` : (error?.message ?? String(error));
  toast(prefix ? `${prefix}: ${text}` : text, "error", 8000);
}
