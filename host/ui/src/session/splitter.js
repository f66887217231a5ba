// Two panes side by side with a handle between them, dragged with the
// pointer or moved with the arrow keys; the split is remembered.

import { h } from "../dom.js";

const MIN = 22;
const MAX = 70;

/** A left/right split of `left` and `right`. */
export class Splitter {
  constructor(left, right, { key, label }) {
    this.key = key;
    this.percent = Number(localStorage.getItem(key)) || 38;
    this.handle = h("div", {
      class: "splitter", role: "separator", tabindex: "0", "aria-orientation": "vertical",
      "aria-label": label, "aria-valuemin": String(MIN), "aria-valuemax": String(MAX),
    });
    this.el = h("div", { class: "split" }, left, this.handle, right);
    this.left = left;
    this.apply();
    this.handle.addEventListener("pointerdown", (e) => this.drag(e));
    this.handle.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -2, ArrowRight: 2, Home: MIN - this.percent, End: MAX - this.percent }[e.key];
      if (step === undefined) return;
      e.preventDefault();
      this.set(this.percent + step);
    });
  }

  set(percent) {
    this.percent = Math.min(MAX, Math.max(MIN, percent));
    localStorage.setItem(this.key, String(Math.round(this.percent)));
    this.apply();
  }

  apply() {
    this.left.style.flexBasis = `${this.percent}%`;
    this.handle.setAttribute("aria-valuenow", String(Math.round(this.percent)));
  }

  drag(e) {
    e.preventDefault();
    this.handle.setPointerCapture(e.pointerId);
    this.el.classList.add("dragging");
    const box = this.el.getBoundingClientRect();
    const move = (ev) => this.set(((ev.clientX - box.left) / box.width) * 100);
    const up = () => {
      this.el.classList.remove("dragging");
      this.handle.removeEventListener("pointermove", move);
      this.handle.removeEventListener("pointerup", up);
    };
    this.handle.addEventListener("pointermove", move);
    this.handle.addEventListener("pointerup", up);
  }
}
