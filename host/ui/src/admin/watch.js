// Watching a seat: a read-only terminal showing what a learner's shell
// prints (its scrollback first), for an instructor looking over their
// shoulder. Loaded only when first used, as xterm.js is large. Nothing is
// ever sent: not keys, and not a size, which would resize the learner's
// terminal.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { socketUrl } from "../api.js";
import { h } from "../dom.js";
import { FONT, THEME } from "../session/terminal.js";

/** Opens a dialog watching `seat` (a dashboard seat) of `workshop`. */
export function watchSeat(workshop, seat) {
  const state = h("span", { class: "muted", role: "status" }, "Connecting…");
  const screen = h("div", { class: "watch-screen", "data-seat": seat.seat });
  const dialog = h("dialog", { class: "dialog watch-dialog", "aria-labelledby": "watch-title" },
    h("div", { class: "row" },
      h("h2", { id: "watch-title" }, `Seat ${seat.seat}: ${seat.name ?? "learner"}`),
      h("span", { class: "pill" }, "read-only"), state, h("span", { class: "spacer" }),
      h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Close")),
    screen);
  document.body.append(dialog);
  dialog.showModal();

  const term = new Terminal({ fontFamily: FONT, fontSize: 13, theme: THEME, disableStdin: true, cursorBlink: false, scrollback: 5000 });
  const fitter = new FitAddon();
  term.loadAddon(fitter);
  term.open(screen);
  fitter.fit();

  const path = `/workshops/${encodeURIComponent(workshop.id)}/seats/${encodeURIComponent(seat.seat)}/terminal`;
  const socket = new WebSocket(socketUrl(path));
  socket.binaryType = "arraybuffer";
  socket.onopen = () => {
    state.textContent = "Watching";
    term.reset();
  };
  socket.onmessage = (e) => term.write(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
  socket.onclose = (e) => {
    state.textContent = e.code === 1000 ? `The terminal ended${e.reason ? `: ${e.reason}` : ""}.` : "The connection was lost or refused.";
  };
  dialog.addEventListener("close", () => {
    socket.onclose = null;
    socket.close(1000, "no longer watching");
    term.dispose();
    dialog.remove();
  });
}
