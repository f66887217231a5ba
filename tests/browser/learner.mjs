// A learner's whole visit, in headless Chromium against a running server:
// the catalog, starting the first-steps lab, a command in the terminal, a
// failing Check with its hint, fixing the tasks through the terminal and
// the editor, a passing Check, a second terminal, a dropped connection the
// terminals come back from, a reload that finds the same session and
// terminal, Extend, End, and Start again through a (simulated) full
// server's queue. The browser reaches the server through
// a small TCP relay so the test can cut its connections.
//
//   node learner.mjs http://127.0.0.1:8080 [artifacts-dir]
//
// Every step saves a screenshot into the artifacts directory (default
// target/browser-artifacts); a failing step saves one named FAILED. Exits 0
// when every assertion held, 1 otherwise. PROCTOR_CHROMIUM names the
// browser (default /usr/bin/chromium, Debian's).

import assert from "node:assert/strict";
import net from "node:net";
import { resolve } from "node:path";
import { Steps, freshArtifacts, openPage } from "./harness.mjs";

const base = process.argv[2];
if (!base) {
  console.error("usage: node learner.mjs BASE_URL [ARTIFACTS_DIR]");
  process.exit(2);
}
const artifacts = freshArtifacts(resolve(process.argv[3] ?? "target/browser-artifacts"));

const LONG = 60_000; // starting a session, running a check
const SHORT = 20_000;

/**
 * Relays TCP to the server; `cut()` drops every connection and refuses new
 * ones until `resume()`, as a flaky network would.
 */
class Relay {
  constructor(target) {
    this.target = new URL(target);
    this.sockets = new Set();
    this.down = false;
    this.server = net.createServer((client) => {
      if (this.down) return client.destroy();
      const upstream = net.connect(Number(this.target.port || 80), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  listen() {
    return new Promise((done) => this.server.listen(0, "127.0.0.1", () => done(`http://127.0.0.1:${this.server.address().port}`)));
  }

  cut() {
    this.down = true;
    for (const s of this.sockets) s.destroy();
  }

  resume() {
    this.down = false;
  }
}

const relay = new Relay(base);
const url = await relay.listen();

const { browser, page, pageErrors } = await openPage({ width: 1366, height: 768 }, SHORT);
const steps = new Steps(page, pageErrors, artifacts);
const step = (name, body) => steps.run(name, body);

/** The text the visible terminal shows (all rows, scrollback rows too). */
function terminalText() {
  return page.locator(".panel:not([hidden]) .xterm-rows").innerText().then((t) => t.replace(/\u00a0/g, " "));
}

/** Waits until the visible terminal shows `needle`. */
async function terminalShows(needle, timeout = SHORT) {
  try {
    await page.waitForFunction((n) => {
      const rows = document.querySelector(".panel:not([hidden]) .xterm-rows");
      return rows && rows.textContent.replace(/\u00a0/g, " ").includes(n);
    }, needle, { timeout });
  } catch {
    assert.fail(`the terminal never showed ${JSON.stringify(needle)}; it shows:\n${await terminalText().catch(() => "(nothing)")}`);
  }
}

/** Types a command line into the visible terminal. */
async function typeInTerminal(line) {
  await page.locator(".panel:not([hidden]) .xterm").click();
  await page.keyboard.type(line, { delay: 5 });
  await page.keyboard.press("Enter");
}

/** Waits for the verdict of the current step and returns its text. */
async function verdict(status) {
  const shown = page.locator(`#check-result .verdict[data-status="${status}"]`);
  await shown.waitFor({ timeout: LONG });
  return shown.innerText();
}

let sessionId;
await steps.all(browser, async () => {
  await step("catalog", async () => {
    await page.goto(url);
    const card = page.locator('.lab-card[data-lab="first-steps"]');
    await card.waitFor();
    assert.match(await card.innerText(), /First steps in the terminal/);
    assert.match(await card.innerText(), /beginner/i);
    // The filters narrow the list, and say so.
    await page.selectOption("#lab-difficulty", "advanced");
    await card.waitFor({ state: "detached" });
    assert.ok((await page.locator(".lab-card").count()) >= 1, "advanced labs are listed");
    await page.selectOption("#lab-difficulty", "");
    await page.fill("#lab-search", "no lab says this");
    await page.locator("#labs .empty").waitFor();
    await page.fill("#lab-search", "terminal");
    await page.waitForFunction(() => new URLSearchParams(location.search).get("q") === "terminal");
    await card.waitFor();
    assert.equal(await page.textContent("#lab-count"), "1 lab");
  });

  await step("session-started", async () => {
    await page.click('.lab-card[data-lab="first-steps"] button:has-text("Start")');
    await page.waitForURL(/\/sessions\/[^/]+$/, { timeout: LONG });
    sessionId = new URL(page.url()).pathname.split("/").pop();
    await page.locator('.tab[data-kind="terminal"][data-state="open"]').waitFor({ timeout: LONG });
    await page.locator("#step-title", { hasText: "Create a file" }).waitFor();
    assert.match(await page.textContent("#timer"), /\d+:\d\d left/);
    assert.equal((await page.textContent("#progress-text")).trim(), "0/2 tasks");
  });

  await step("terminal-command", async () => {
    // Computed, so the echo of the typed line never matches.
    await typeInTerminal("echo answer=$((6*7)) from=$(pwd)");
    await terminalShows("answer=42 from=/workspace");
  });

  await step("terminal-resizes-with-the-window", async () => {
    const size = async (marker) => {
      await typeInTerminal(`echo ${marker}=$(stty size | tr ' ' x)`);
      await page.waitForFunction((m) => new RegExp(`${m}=\\d+x\\d+`).test(document.querySelector(".panel:not([hidden]) .xterm-rows").textContent), marker);
      const [, rows, cols] = (await terminalText()).match(new RegExp(`${marker}=(\\d+)x(\\d+)`));
      return { rows: Number(rows), cols: Number(cols) };
    };
    const small = await size("small");
    assert.ok(small.rows >= 20 && small.cols >= 60, `a usable terminal at 1366x768: ${JSON.stringify(small)}`);
    await page.setViewportSize({ width: 1600, height: 900 });
    // The shell learns the new size from the resize message.
    let large;
    for (let i = 0; i < 20; i++) {
      large = await size(`large${i}`);
      if (large.cols > small.cols && large.rows > small.rows) break;
      await page.waitForTimeout(250);
    }
    assert.ok(large.cols > small.cols && large.rows > small.rows, `the shell saw the resize: ${JSON.stringify({ small, large })}`);
    await page.setViewportSize({ width: 1366, height: 768 });
  });

  await step("check-fails-with-hint", async () => {
    await page.click("#check");
    const text = await verdict("failed");
    assert.match(text, /Not yet/);
    assert.match(text, /\/workspace\/hello\.txt does not exist/);
    assert.match(text, /Hint:\s*Create it: echo 'Hello, Proctor' > \/workspace\/hello\.txt/);
    assert.equal(await page.locator(".stepper-item.status-failed").count(), 1);
  });

  await step("hint-button", async () => {
    await page.click("#hint");
    const hint = page.locator("#hint-result .hint");
    await hint.waitFor();
    assert.match(await hint.innerText(), /Hint 1[\s\S]*redirection/);
  });

  await step("task-1-fixed-in-terminal-checked-by-keyboard", async () => {
    await typeInTerminal("echo 'Hello, Proctor' > hello.txt && echo written=$((1+1))");
    await terminalShows("written=2");
    // The shortcut works with the keyboard still in the terminal.
    await page.keyboard.press("Control+Enter");
    const text = await verdict("passed");
    assert.match(text, /Passed/);
    assert.match(text, /\/workspace\/hello\.txt exists/);
    assert.equal((await page.textContent("#progress-text")).trim(), "1/2 tasks");
  });

  await step("next-step", async () => {
    await page.click('button:has-text("Next step")');
    await page.locator("#step-title", { hasText: "Write a script" }).waitFor();
    await page.locator("#check-result .verdict").waitFor({ state: "detached" });
  });

  await step("editor-new-file", async () => {
    await page.click('.tab[data-kind="editor"]');
    await page.locator('.file-item[data-path="hello.txt"]').waitFor();
    await page.click('button:has-text("New file")');
    await page.fill("#ask-input", "greet.sh");
    await page.keyboard.press("Enter");
    await page.locator("#editor-path", { hasText: "greet.sh" }).waitFor();
    await page.locator(".cm-content").click();
    await page.keyboard.type("#!/bin/sh\ncat /workspace/hello.txt\n");
    await page.locator(".editor-state", { hasText: "unsaved" }).waitFor();
    await page.keyboard.press("Control+s");
    await page.locator(".editor-state", { hasText: "saved" }).waitFor();
    assert.equal((await page.textContent(".editor-lang")).trim(), "Shell");
    await page.locator('.file-item[data-path="greet.sh"]').waitFor();
  });

  await step("check-fails-not-executable", async () => {
    await page.click("#check");
    const text = await verdict("failed");
    assert.match(text, /greet\.sh is missing or not executable/);
    assert.match(text, /Hint:\s*Make it executable: chmod \+x \/workspace\/greet\.sh/);
  });

  await step("task-2-fixed-in-terminal", async () => {
    await page.click('.tab[data-kind="terminal"]');
    await typeInTerminal("chmod +x greet.sh && ./greet.sh | sed 's/^/out: /'");
    await terminalShows("out: Hello, Proctor");
    await page.click("#check");
    const text = await verdict("passed");
    assert.match(text, /greet\.sh prints "Hello, Proctor"/);
    assert.match(text, /completed every task/);
    assert.equal((await page.textContent("#progress-text")).trim(), "2/2 tasks");
  });

  await step("second-terminal", async () => {
    await page.click('button[aria-label="Open another terminal"]');
    await page.locator('.tab[data-kind="terminal"]').nth(1).waitFor();
    await page.locator('.tab[data-kind="terminal"][aria-selected="true"][data-state="open"]', { hasText: "Terminal 2" }).waitFor({ timeout: LONG });
    await typeInTerminal("echo second=$((40+2))");
    await terminalShows("second=42");
    assert.ok(!(await terminalText()).includes("answer=42"), "the second terminal is another shell");
  });

  await step("connection-dropped-and-back", async () => {
    relay.cut();
    const banner = page.locator(".panel:not([hidden]) .term-banner-warn");
    await banner.waitFor();
    assert.match(await banner.innerText(), /Connection to the terminal lost\. Reconnecting/);
    await steps.shot("connection-dropped-banner");
    relay.resume();
    await banner.waitFor({ state: "hidden", timeout: LONG });
    await page.locator('.tab[data-kind="terminal"][aria-selected="true"][data-state="open"]').waitFor();
    // The same shell, with its scrollback replayed.
    await terminalShows("second=42");
    await typeInTerminal("echo back=$((3*3))");
    await terminalShows("back=9");
  });

  await step("reload-finds-the-same-session-and-terminals", async () => {
    await page.reload();
    await page.locator('.tab[data-kind="terminal"][data-state="open"]').first().waitFor({ timeout: LONG });
    assert.equal(new URL(page.url()).pathname, `/sessions/${sessionId}`);
    assert.equal(await page.locator('.tab[data-kind="terminal"]').count(), 2, "both terminals are back");
    await page.click('.tab[data-kind="terminal"] >> nth=0');
    // The scrollback replayed: what the shell printed before the reload.
    await terminalShows("answer=42 from=/workspace");
    await terminalShows("out: Hello, Proctor");
    // And it is the same live shell.
    await typeInTerminal("echo after=$((2*21))");
    await terminalShows("after=42");
    assert.equal(await page.locator(".stepper-item.status-passed").count(), 2);
    await verdict("passed");
  });

  await step("exited-shell-replaced", async () => {
    await page.click('.tab[data-kind="terminal"] >> nth=1');
    await typeInTerminal("exit");
    const ended = page.locator(".panel:not([hidden]) .term-banner-ended");
    await ended.waitFor();
    assert.match(await ended.innerText(), /This terminal has ended/);
    await steps.shot("terminal-ended");
    await ended.locator('button:has-text("Open a new terminal")').click();
    await page.locator('.tab[data-kind="terminal"][aria-selected="true"][data-state="open"]', { hasText: "Terminal 3" }).waitFor({ timeout: LONG });
    assert.equal(await page.locator('.tab[data-kind="terminal"]').count(), 2, "the ended terminal's tab is gone");
    await typeInTerminal("echo third=$((1+2))");
    await terminalShows("third=3");
  });

  await step("extend", async () => {
    const before = await page.textContent("#timer");
    assert.match(before, /^[23]\d:\d\d left$/);
    await page.click("button:text-is(\"Extend\")");
    // 30 more minutes (the default extension).
    await page.waitForFunction(() => /^[56]\d:\d\d left$/.test(document.querySelector("#timer").textContent));
    await page.locator(".toast-success", { hasText: "Extended" }).waitFor();
  });

  await step("end-session", async () => {
    await page.click("button:text-is(\"End\")");
    await page.click('dialog button:has-text("End the session")');
    await page.locator(".state-panel.ended").waitFor({ timeout: LONG });
    assert.match(await page.textContent(".state-panel.ended"), /Session ended[\s\S]*you ended it/);
    await page.locator('button:has-text("Start again")').waitFor();
  });

  await step("start-again-waits-in-a-full-servers-queue", async () => {
    // The server is not full: answer the first start as a full one would,
    // then let the retry through to the real server.
    let refused = 0;
    await page.route("**/api/v1/sessions", async (route) => {
      if (route.request().method() !== "POST" || refused > 0) return route.continue();
      refused += 1;
      await route.fulfill({
        status: 429,
        headers: { "Content-Type": "application/json", "Retry-After": "3" },
        body: JSON.stringify({ error: { code: "capacity_full", message: "the server is full", hint: null, queue_position: 2, retry_after_seconds: 3 } }),
      });
    });
    await page.click('button:has-text("Start again")');
    const status = page.locator("dialog .start-status");
    await status.filter({ hasText: /You are #2 in the queue; retrying in \d s/ }).waitFor();
    await steps.shot("queue");
    await page.waitForURL((u) => u.pathname.startsWith("/sessions/") && !u.pathname.endsWith(sessionId), { timeout: LONG });
    await page.locator('.tab[data-kind="terminal"][data-state="open"]').waitFor({ timeout: LONG });
    assert.equal(refused, 1);
    // A fresh session, whose workspace the lab kept from the last one.
    await page.click('.tab[data-kind="editor"]');
    await page.locator('.file-item[data-path="greet.sh"]').waitFor();
    await page.click("button:text-is(\"End\")");
    await page.click('dialog button:has-text("End the session")');
    await page.locator(".state-panel.ended").waitFor({ timeout: LONG });
  });
}, () => relay.server.close());
