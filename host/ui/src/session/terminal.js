// One terminal: xterm.js on a WebSocket to a shell the server keeps.
//
// The server replays the shell's scrollback whenever a viewer attaches, so
// the screen is cleared before every (re)connection and rebuilt from the
// replay: a reload or a dropped connection shows the same terminal. A
// socket the server closes normally (code 1000) means the shell ended;
// any other close is a dropped connection, retried with backoff.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { ApiError, NetworkError, api, terminalSocketUrl } from "../api.js";
import { h } from "../dom.js";

/** The terminals' colours, shared with the read-only views of the admin area. */
export const THEME = {
  background: "#0b0f19",
  foreground: "#e4e8f1",
  cursor: "#9ec5ff",
  selectionBackground: "#33507e",
  black: "#1b2030", red: "#ff7a7a", green: "#6ee7a8", yellow: "#f7c86b",
  blue: "#7fb0ff", magenta: "#d49bff", cyan: "#6fd8e8", white: "#dfe4ee",
  brightBlack: "#5e6a82", brightRed: "#ff9c9c", brightGreen: "#95f0c0", brightYellow: "#ffd98f",
  brightBlue: "#a3c6ff", brightMagenta: "#e2b8ff", brightCyan: "#98e7f2", brightWhite: "#ffffff",
};

/** The terminals' font. */
export const FONT = '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace';

const encoder = new TextEncoder();

/** A terminal tab's content: the screen, the socket, and their state. */
export class TerminalView {
  /**
   * `session`, `id`: which terminal. `onEnded(reason)`: the shell is gone.
   * `onState(state)`: "connecting", "open", "reconnecting", "ended".
   * `onClose()`, `onReplace()`: the ended terminal's buttons.
   */
  constructor({ session, id, onEnded, onState, onClose, onReplace }) {
    this.session = session;
    this.id = id;
    this.onEnded = onEnded;
    this.onClose = onClose;
    this.onReplace = onReplace;
    this.onState = onState ?? (() => {});
    this.attempt = 0;
    this.socket = null;
    this.disposed = false;
    this.ended = false;
    this.retryTimer = null;

    this.banner = h("div", { class: "term-banner", role: "status", hidden: true });
    this.screen = h("div", { class: "term-screen" });
    this.el = h("div", { class: "term", "data-terminal": id }, this.banner, this.screen);

    this.term = new Terminal({
      fontFamily: FONT,
      fontSize: 14,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEME,
    });
    this.fitter = new FitAddon();
    this.term.loadAddon(this.fitter);
    this.term.onData((data) => this.send(encoder.encode(data)));
    this.term.onBinary((data) => this.send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    this.term.onResize(({ cols, rows }) => this.sendResize(cols, rows));
    this.term.attachCustomKeyEventHandler((e) => this.ownKey(e));
  }

  /** Puts the screen in the page; call once the element is attached. */
  open() {
    this.term.open(this.screen);
    this.fit();
    this.resizer = new ResizeObserver(() => this.fit());
    this.resizer.observe(this.screen);
  }

  /** The size that fits the screen now (80×24 when hidden). */
  size() {
    const d = this.fitter.proposeDimensions();
    return d && d.cols > 0 ? { cols: d.cols, rows: d.rows } : { cols: 80, rows: 24 };
  }

  /** Fits the terminal to its box, if it is visible. */
  fit() {
    if (this.screen.offsetParent !== null) {
      try { this.fitter.fit(); } catch { /* not rendered yet */ }
    }
  }

  focus() {
    this.term.focus();
  }

  /**
   * Types `text` into the shell as if the learner had, pressing Enter after
   * each line. Not a paste: a shell in bracketed-paste mode would only
   * insert the lines without running them.
   */
  type(text) {
    this.send(encoder.encode(`${text.replace(/\r?\n$/, "").replace(/\r?\n/g, "\r")}\r`));
    this.focus();
  }

  /** Opens the socket. */
  connect() {
    if (this.disposed || this.ended) return;
    clearTimeout(this.retryTimer);
    this.onState(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(terminalSocketUrl(this.session, this.id));
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.hideBanner();
      // What comes first is the scrollback: draw it on a clean screen.
      this.term.reset();
      const { cols, rows } = this.term;
      this.sendResize(cols, rows);
      this.onState("open");
    };
    socket.onmessage = (e) => {
      this.term.write(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
    };
    socket.onclose = (e) => {
      if (socket !== this.socket || this.disposed) return;
      this.socket = null;
      if (e.code === 1000) this.end(e.reason || "the terminal ended");
      else this.reconnectLater();
    };
  }

  /** Reconnects now (the banner's button, or the browser coming back online). */
  reconnectNow() {
    if (this.socket || this.disposed || this.ended) return;
    this.attempt = Math.max(this.attempt, 1);
    this.check();
  }

  reconnectLater() {
    this.attempt += 1;
    const delay = Math.min(10_000, 500 * 2 ** (this.attempt - 1));
    this.onState("reconnecting");
    const now = h("button", { type: "button", class: "btn btn-small", onclick: () => this.reconnectNow() }, "Reconnect now");
    this.showBanner("warn", h("span", {}, `Connection to the terminal lost. Reconnecting in ${Math.ceil(delay / 1000)} s… `), now);
    this.retryTimer = setTimeout(() => this.check(), delay);
  }

  /**
   * Before attaching again, asks whether the terminal still exists: a
   * refused upgrade looks like a dropped connection to the browser.
   */
  async check() {
    clearTimeout(this.retryTimer);
    try {
      const open = await api(`/sessions/${encodeURIComponent(this.session)}/terminals`);
      if (!open.some((t) => t.id === this.id)) return this.end("the terminal is no longer open");
    } catch (e) {
      if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500)) return this.reconnectLater();
      return this.end(e.message);
    }
    this.connect();
  }

  end(reason) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.retryTimer);
    this.showBanner("ended", h("span", {}, `This terminal has ended: ${reason}.`),
      this.onReplace ? h("button", { type: "button", class: "btn btn-small", onclick: () => this.onReplace() }, "Open a new terminal") : null,
      this.onClose ? h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => this.onClose() }, "Close") : null);
    // Nothing can be typed any more: hide the cursor (DECTCEM off).
    this.term.write("\x1b[?25l");
    this.term.options.disableStdin = true;
    this.onState("ended");
    this.onEnded?.(reason);
  }

  send(bytes) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  sendResize(cols, rows) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify({ type: "resize", cols, rows }));
  }

  /** Keys the page handles (shortcuts, copy) rather than the shell. */
  ownKey(e) {
    if (e.type !== "keydown") return true;
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key === "Enter") return false;
    if (mod && e.shiftKey && (e.key === "C" || e.key === "c") && this.term.hasSelection()) {
      navigator.clipboard?.writeText(this.term.getSelection()).catch(() => {});
      return false;
    }
    return true;
  }

  showBanner(kind, ...children) {
    this.banner.className = `term-banner term-banner-${kind}`;
    this.banner.replaceChildren(...children.filter(Boolean));
    this.banner.hidden = false;
  }

  hideBanner() {
    this.banner.hidden = true;
  }

  /** Leaves the terminal: the socket closes (the shell goes on unless the server closes it). */
  dispose() {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.resizer?.disconnect();
    this.socket?.close(1000, "the page was left");
    this.socket = null;
    this.term.dispose();
  }
}
