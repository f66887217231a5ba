// An administrator's first visit, in headless Chromium against a running
// server: a failed single sign-on explained, a refused login, the one-time password that forces a new one
// (the API refuses everything else meanwhile), the new password, Admin →
// Judges, a broken component refused, a new version uploaded and serving,
// a rollback to the old one, a learner's session ended from Sessions, the
// Audit log recording all of it, and signing out.
//
//   PROCTOR_URL=http://127.0.0.1:8080 \
//   PROCTOR_ADMIN_PASSWORD=<the one-time password of `admin`> \
//   PROCTOR_JUDGE_NAME=<a plugin already serving> \
//   PROCTOR_JUDGE_V2=<path to a newer version of it> \
//   PROCTOR_SESSION_ID=<a running session> \
//   node admin.mjs
//
// Screenshots go to `admin/` in the artifacts directory (PROCTOR_ARTIFACTS,
// default target/browser-artifacts, as for learner.mjs; a directory of its
// own, as learner.mjs clears the top level's screenshots when it starts). A
// failing step saves one named FAILED. Exits 0 when every assertion held,
// 1 otherwise. PROCTOR_CHROMIUM names the browser (default
// /usr/bin/chromium).

import assert from "node:assert/strict";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Steps, freshArtifacts, openPage } from "./harness.mjs";

const env = (name) => process.env[name] || (console.error(`${name} is not set; see the head of admin.mjs`), process.exit(2));
const url = env("PROCTOR_URL");
const oneTimePassword = env("PROCTOR_ADMIN_PASSWORD");
const judge = env("PROCTOR_JUDGE_NAME");
const judgeV2 = resolve(env("PROCTOR_JUDGE_V2"));
const sessionId = env("PROCTOR_SESSION_ID");
const NEW_PASSWORD = "paper lantern over the bay";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = freshArtifacts(join(resolve(process.env.PROCTOR_ARTIFACTS ?? join(here, "../../target/browser-artifacts")), "admin"));

const LONG = 60_000; // loading a component, ending a session
const SHORT = 20_000;

const { browser, page, pageErrors } = await openPage({ width: 1366, height: 900 }, SHORT);
const steps = new Steps(page, pageErrors, artifacts, { fullPage: true });
const step = (name, body) => steps.run(name, body);

/** Calls the API from the page, with its cookie: the status and the JSON body. */
function fetchFromPage(path, method = "GET") {
  return page.evaluate(async ([p, m]) => {
    const res = await fetch(`/api/v1${p}`, { method: m, credentials: "same-origin" });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [path, method]);
}

const account = () => page.getByRole("navigation", { name: "Account" });
const adminTab = (name) => page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name, exact: true });
const plugin = () => page.getByRole("region", { name: judge, exact: true });

/** Opens an admin tab through its link and waits until it is the current one. */
async function openTab(name) {
  await adminTab(name).click();
  await page.waitForFunction((n) => document.querySelector(".admin-tab[aria-current=page]")?.textContent === n, name);
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

let v1;
let v2;
await steps.all(browser, async () => {
  await step("failed-single-sign-on-explained", async () => {
    await page.goto(`${url}/login?sso_error=${encodeURIComponent("the issuer said: access_denied")}`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /Single sign-on failed: the issuer said: access_denied/);
  });

  await step("wrong-password-refused", async () => {
    await page.goto(`${url}/login`);
    await page.getByLabel("Login", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /Not signed in: the login or the password is wrong/);
    assert.equal(new URL(page.url()).pathname, "/login");
    assert.equal((await fetchFromPage("/auth/me")).status, 401, "no token was given");
  });

  await step("one-time-password-forces-a-change", async () => {
    await page.getByLabel("Password", { exact: true }).fill(oneTimePassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    // Signed in, but the server refuses everything else until the change.
    const me = await fetchFromPage("/auth/me");
    assert.equal(me.body?.must_change_password, true, JSON.stringify(me));
    const plugins = await fetchFromPage("/admin/plugins");
    assert.deepEqual([plugins.status, plugins.body?.error?.code], [403, "password_change_required"]);
  });

  await step("mismatched-new-password-not-sent", async () => {
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Repeat the new password").fill(`${NEW_PASSWORD}!`);
    await page.getByRole("button", { name: "Change password" }).click();
    const message = await page.getByLabel("Repeat the new password").evaluate((input) => input.validationMessage);
    assert.equal(message, "The two passwords differ.");
    assert.equal((await fetchFromPage("/auth/me")).body?.must_change_password, true);
  });

  await step("password-changed", async () => {
    await page.getByLabel("Repeat the new password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL((u) => u.pathname === "/");
    await page.locator(".toast-success", { hasText: "Password changed" }).waitFor();
    await account().getByRole("link", { name: "Admin" }).waitFor();
    assert.match(await account().innerText(), /admin[\s\S]*Sign out/);
    assert.equal((await fetchFromPage("/auth/me")).body?.must_change_password, false);
  });

  await step("admin-judges", async () => {
    await account().getByRole("link", { name: "Admin" }).click();
    await page.waitForURL((u) => u.pathname === "/admin/plugins");
    await openTab("Judges");
    await plugin().waitFor();
    v1 = await plugin().getAttribute("data-serving");
    assert.ok(v1, `${judge} serves a version`);
    assert.match(await plugin().innerText(), new RegExp(`Serving ${v1.replace(/\./g, "\\.")}`));
    const row = plugin().locator(`tr[data-version="${v1}"]`);
    assert.match(await row.innerText(), /[0-9a-f]{12}[\s\S]*0\.1\.0/, "the digest's prefix and the contract");
  });

  await step("broken-upload-refused", async () => {
    await page.getByLabel("Component (.wasm)").setInputFiles({ name: "broken.wasm", mimeType: "application/wasm", buffer: Buffer.from("\0asm but not a component") });
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    const refusal = page.locator("#upload-result [role=alert]");
    await refusal.waitFor({ timeout: LONG });
    assert.match(await refusal.innerText(), /broken\.wasm was refused: /);
    assert.equal(await plugin().getAttribute("data-serving"), v1, "the serving version is untouched");
  });

  await step("v2-uploaded-and-serving", async () => {
    await page.getByLabel("Component (.wasm)").setInputFiles(judgeV2);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    const notice = page.locator("#upload-result .notice-ok");
    await notice.waitFor({ timeout: LONG });
    const text = await notice.innerText();
    v2 = text.match(new RegExp(`^${judge} (\\S+) loaded`))?.[1];
    assert.ok(v2 && v2 !== v1, `a new version was loaded: ${text}`);
    assert.match(text, /serving now/);
    await page.waitForFunction(([name, v]) => document.querySelector(`[data-plugin="${name}"]`)?.dataset.serving === v, [judge, v2]);
    assert.match(await plugin().innerText(), new RegExp(`Serving ${v2.replace(/\./g, "\\.")}`));
    assert.equal(await plugin().locator("tbody tr").count(), 2, "both versions are listed");
    await plugin().getByRole("button", { name: `Promote ${judge} ${v1}` }).waitFor();
  });

  await step("rolled-back-to-v1", async () => {
    await plugin().getByRole("button", { name: `Roll back ${judge}` }).click();
    await page.locator(".toast-success", { hasText: `${judge}: ${v1} serves again` }).waitFor();
    assert.equal(await plugin().getAttribute("data-serving"), v1);
    assert.match(await plugin().innerText(), new RegExp(`Serving ${v1.replace(/\./g, "\\.")}`));
    await plugin().getByRole("button", { name: `Promote ${judge} ${v2}` }).waitFor();
    const listed = await fetchFromPage("/admin/plugins");
    assert.equal(listed.body.find((p) => p.name === judge)?.serving, v1, "the server serves v1 again");
  });

  await step("session-ended", async () => {
    await openTab("Sessions");
    const row = page.locator(`tr[data-session="${sessionId}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /running/);
    await row.getByRole("button", { name: `End session ${sessionId}`, exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "End this session?" });
    await dialog.getByRole("button", { name: "End the session" }).click();
    await page.locator(".toast-success", { hasText: `Session ${sessionId} ended` }).waitFor({ timeout: LONG });
    await row.waitFor({ state: "detached" });
    const ended = await fetchFromPage(`/admin/sessions/${sessionId}`);
    assert.deepEqual([ended.body?.status, ended.body?.end_reason], ["ended", "admin"], JSON.stringify(ended));
  });

  await step("audit-log", async () => {
    await openTab("Audit");
    const log = page.getByRole("table", { name: "Audit log" });
    await log.waitFor();
    const entry = (action, target) => log.locator(`tr[data-action="${action}"]`, { hasText: target });
    for (const [action, target] of [["plugin.refused", "bytes"], ["plugin.upload_and_serve", `${judge} ${v2}`], ["plugin.rollback", `${judge} ${v1}`], ["session.end", sessionId]]) {
      assert.equal(await entry(action, target).count(), 1, `one ${action} of ${target} in:\n${await log.innerText()}`);
      assert.match(await entry(action, target).innerText(), /\badmin\b/, "done by admin");
    }
  });

  await step("signed-out", async () => {
    await account().getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((u) => u.pathname === "/");
    await account().getByRole("link", { name: "Sign in" }).waitFor();
    assert.equal((await fetchFromPage("/auth/me")).status, 401);
    await page.goto(`${url}/admin/audit`);
    await page.waitForURL((u) => u.pathname === "/login" && u.searchParams.get("next") === "/admin/audit");
    await page.getByLabel("Login", { exact: true }).waitFor();
  });
});
