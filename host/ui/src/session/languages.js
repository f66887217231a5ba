// Syntax highlighting by file name (and, for files without an extension,
// by their first line).

import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import { yaml } from "@codemirror/lang-yaml";
import { StreamLanguage } from "@codemirror/language";
import { dockerFile } from "@codemirror/legacy-modes/mode/dockerfile";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { toml } from "@codemirror/legacy-modes/mode/toml";

const stream = (parser) => () => StreamLanguage.define(parser);

const BY_EXTENSION = {
  py: ["Python", python],
  js: ["JavaScript", javascript],
  mjs: ["JavaScript", javascript],
  cjs: ["JavaScript", javascript],
  jsx: ["JavaScript", () => javascript({ jsx: true })],
  ts: ["TypeScript", () => javascript({ typescript: true })],
  tsx: ["TypeScript", () => javascript({ typescript: true, jsx: true })],
  json: ["JSON", json],
  yaml: ["YAML", yaml],
  yml: ["YAML", yaml],
  md: ["Markdown", markdown],
  markdown: ["Markdown", markdown],
  sh: ["Shell", stream(shell)],
  bash: ["Shell", stream(shell)],
  zsh: ["Shell", stream(shell)],
  toml: ["TOML", stream(toml)],
  dockerfile: ["Dockerfile", stream(dockerFile)],
};

/** `[name, extension]` for a file, or `["Plain text", null]`. */
export function languageFor(path, firstLine = "") {
  const name = path.split("/").pop() ?? "";
  if (/^(Dockerfile|Containerfile)(\..*)?$/.test(name)) return ["Dockerfile", stream(dockerFile)()];
  const ext = name.includes(".") ? name.split(".").pop().toLowerCase() : "";
  const known = BY_EXTENSION[ext];
  if (known) return [known[0], known[1]()];
  if (/^#!.*\b(sh|bash|zsh|dash|ash)\b/.test(firstLine)) return ["Shell", stream(shell)()];
  if (/^#!.*\bpython/.test(firstLine)) return ["Python", python()];
  if (/^#!.*\bnode\b/.test(firstLine)) return ["JavaScript", javascript()];
  return ["Plain text", null];
}
