// What the browser tests share: Chromium launched the way this machine
// needs it, one page whose errors are collected, and steps that each save
// a numbered screenshot (or one named FAILED) and fail on anything the
// page threw.

import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Makes `dir` and empties it of screenshots: an earlier run's would be mistaken for this one's. */
export function freshArtifacts(dir) {
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir).filter((f) => f.endsWith(".png"))) rmSync(join(dir, old));
  return dir;
}

/** Headless Chromium (PROCTOR_CHROMIUM, default Debian's) with one page of `viewport`. */
export async function openPage(viewport, timeout) {
  const browser = await chromium.launch({
    executablePath: process.env.PROCTOR_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.stack ?? String(e)));
  page.on("console", (m) => { if (m.type() === "error") console.log(`  [browser console] ${m.text()}`); });
  return { browser, page, pageErrors };
}

/** Numbered steps with a screenshot each into `artifacts`. */
export class Steps {
  constructor(page, pageErrors, artifacts, { fullPage = false } = {}) {
    Object.assign(this, { page, pageErrors, artifacts, fullPage, count: 0 });
  }

  /** A screenshot numbered as the current step, named `name`. */
  shot(name) {
    return this.page.screenshot({ path: join(this.artifacts, `${String(this.count).padStart(2, "0")}-${name}.png`), fullPage: this.fullPage });
  }

  /** Runs one step, then saves its screenshot (or a FAILED one). */
  async run(name, body) {
    this.count += 1;
    console.log(`step ${String(this.count).padStart(2, "0")}-${name}`);
    try {
      await body();
      assert.deepEqual(this.pageErrors, [], "the page threw");
    } catch (e) {
      await this.shot(`${name}-FAILED`).catch(() => {});
      throw e;
    }
    await this.shot(name);
  }

  /**
   * Runs every step in `body`, says how it went, closes `browser` (then
   * calls `after`) and exits: 0 when every assertion held, 1 otherwise.
   */
  async all(browser, body, after = () => {}) {
    let ok = false;
    try {
      await body();
      ok = true;
      console.log(`all ${this.count} steps passed; screenshots in ${this.artifacts}`);
    } catch (e) {
      console.error(`FAILED at step ${this.count}: ${e.stack ?? e}`);
      if (this.pageErrors.length) console.error(`page errors:\n${this.pageErrors.join("\n")}`);
    } finally {
      await browser.close();
      after();
    }
    process.exit(ok ? 0 : 1);
  }
}
