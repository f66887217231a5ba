// Markdown from lab authors, rendered and sanitized: authors are trusted to
// write labs, not to run script in learners' browsers.

import DOMPurify from "dompurify";
import { marked } from "marked";
import { h } from "./dom.js";
import { toast } from "./toast.js";

marked.setOptions({ gfm: true, breaks: false });

// Links leave the lab in a new tab, never with access to this window.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const SHELL = new Set(["sh", "bash", "shell", "console", "zsh"]);

/**
 * Renders `markdown` into a new element. Every code block gets a Copy
 * button; shell blocks also get Run, which calls `onRun(text)` (typing it
 * into the active terminal) when given.
 */
export function renderMarkdown(markdown, { onRun, inline = false } = {}) {
  const html = inline ? marked.parseInline(markdown ?? "") : marked.parse(markdown ?? "");
  const el = h(inline ? "span" : "div", { class: inline ? "md-inline" : "markdown", html: DOMPurify.sanitize(html) });
  for (const code of el.querySelectorAll("pre > code")) {
    const pre = code.parentElement;
    const text = code.textContent.replace(/\n$/, "");
    const lang = [...code.classList].find((c) => c.startsWith("language-"))?.slice(9) ?? "";
    const bar = h("div", { class: "code-actions" },
      h("button", { type: "button", class: "btn btn-small", "aria-label": "Copy this code", onclick: () => copy(text) }, "Copy"));
    if (onRun && SHELL.has(lang)) {
      bar.append(h("button", { type: "button", class: "btn btn-small", "aria-label": "Run this code in the terminal", onclick: () => onRun(text) }, "Run"));
    }
    pre.classList.add("has-actions");
    pre.append(bar);
  }
  return el;
}

/** Copies text, also where the async clipboard is unavailable (plain http off localhost). */
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { class: "visually-hidden", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) {
      toast("Copying was refused by the browser; select the text and copy it by hand.", "warn");
      return;
    }
  }
  toast("Copied to the clipboard", "success", 2000);
}
