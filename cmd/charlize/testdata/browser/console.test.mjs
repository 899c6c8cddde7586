// Browser tests of `charlize demo`'s console and of the install pages, in
// Debian's Chromium driven by playwright-core. browser_test.go starts the
// servers and runs this file with node --test; it sets:
//   DEMO_URL        the console (charlize demo)
//   INSTALL_URL     a multi-workspace Charlize's base URL
//   CHROMIUM        the browser binary
//   SCREENSHOT_DIR  where screenshots go (failures are printed to the log)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const { DEMO_URL, INSTALL_URL, CHROMIUM, SCREENSHOT_DIR } = process.env;
// Generous: CI shares two cores with the Go race detector.
const WAIT = 60_000;

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
});
after(async () => { if (browser) await browser.close(); });

// page opens a fresh page that may reach only this machine's loopback.
async function page(name) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.route((url) => !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url.href), (route) => route.abort());
  const p = await context.newPage();
  p.setDefaultTimeout(WAIT);
  p.testName = name;
  return p;
}

// step runs a test body and keeps a screenshot when it fails.
async function step(name, body) {
  const p = await page(name);
  try {
    await body(p);
    await p.screenshot({ path: `${SCREENSHOT_DIR}/ok-${name}.png` });
  } catch (err) {
    await p.screenshot({ path: `${SCREENSHOT_DIR}/FAILED-${name}.png`, fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await p.context().close();
  }
}

async function actAs(p, user) {
  await p.selectOption("#user", user);
  await p.waitForFunction((u) => document.querySelector("#user").value === u, user);
}

async function type(p, text) {
  await p.fill("#compose", text);
  await p.press("#compose", "Enter");
}

// rowButton is the button labelled text in the actions that follow the
// section naming name (an instance's row or card).
function rowButton(p, name, text) {
  return p.locator(`xpath=//div[contains(@class,"bk-section")][contains(., "${name}")]` +
    `/following-sibling::div[contains(@class,"bk-actions")][1]//button[normalize-space(.)="${text}"]`).last();
}

const messages = (p) => p.locator("#messages");

// terminateModal waits until the terminate modal is filled in: it opens at
// once and is updated when AWS has described the instance, and that
// update (as in Slack) would clear an inline error shown before it.
async function terminateModal(p) {
  const modal = p.getByRole("dialog", { name: "Terminate instance" });
  await modal.getByText("Termination protection").waitFor();
  return modal;
}

// cardButton is the button labelled text on name's card, once the card
// (not just a list that names the instance) has arrived.
async function cardButton(p, name, text) {
  const card = messages(p).locator("article").filter({ hasText: "Termination protection" }).filter({ hasText: name }).last();
  await card.waitFor();
  return card.getByRole("button", { name: text, exact: true });
}

test("the page says it is a local demo, and its controls are real controls", () => step("notice", async (p) => {
  await p.goto(DEMO_URL);
  await assert.doesNotReject(p.getByRole("note").filter({ hasText: "Local demo — this is not Slack" }).waitFor());
  await p.getByRole("combobox", { name: "Acting as" }).waitFor();
  await p.getByRole("button", { name: "Reset demo" }).waitFor();
  await p.keyboard.press("Tab");
  const focused = await p.evaluate(() => document.activeElement.tagName);
  assert.notEqual(focused, "BODY", "Tab moves focus onto a control");
}));

test("/charlize list, Stop, accept the confirm dialog, progress reaches ✅", () => step("stop", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  await type(p, "/charlize list prod-web-*");
  const stop = rowButton(p, "prod-web-2", "Stop");
  await stop.click();
  const dialog = p.locator("#confirm");
  await dialog.waitFor({ state: "visible" });
  assert.match(await dialog.innerText(), /prod-web-2/);
  await p.locator("#confirm-ok").click();
  await messages(p).getByText(/✅.*prod-web-2.*stopped/).first().waitFor();
}));

test("terminate: a wrong name is refused inline, then the right one", () => step("terminate", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  await type(p, "/charlize status staging-web-eu-1");
  await (await cardButton(p, "staging-web-eu-1", "Terminate")).click();
  const modal = await terminateModal(p);
  const input = modal.getByLabel(/Type staging-web-eu-1 to confirm/);
  assert.equal(await p.evaluate(() => document.activeElement.tagName), "INPUT", "the confirmation field has focus");
  await input.fill("staging-web-1");
  await modal.getByRole("button", { name: "Terminate" }).click();
  await modal.locator(".bk-error").waitFor();
  assert.equal(await modal.getByLabel(/Type staging-web-eu-1 to confirm/).getAttribute("aria-invalid"), "true");
  await modal.getByLabel(/Type staging-web-eu-1 to confirm/).fill("staging-web-eu-1");
  await modal.getByRole("button", { name: "Terminate" }).click();
  await modal.waitFor({ state: "detached" });
  await messages(p).getByText(/✅.*staging-web-eu-1.*terminated/).first().waitFor();
}));

test("two-person approval: alice asks, carol approves", () => step("approval", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  await type(p, "/charlize status prod-reporting-win");
  await (await cardButton(p, "prod-reporting-win", "Terminate")).click();
  const modal = await terminateModal(p);
  await modal.getByLabel(/to confirm/).fill("prod-reporting-win");
  await modal.getByRole("button", { name: "Terminate" }).click();
  await modal.waitFor({ state: "detached" });
  await messages(p).getByText(/asks to.*terminate.*prod-reporting-win/).first().waitFor();

  await actAs(p, "U0DEMOCAROL");
  await messages(p).getByRole("button", { name: "Approve" }).last().click();
  await p.locator("#confirm").waitFor({ state: "visible" });
  await p.locator("#confirm-ok").click();
  await messages(p).getByText(/✅.*prod-reporting-win.*terminated/).first().waitFor();
}));

test("bob is refused in acme-prod", () => step("refused", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOBOB");
  await type(p, "/charlize status prod-web-1");
  await (await cardButton(p, "prod-web-1", "Status")).waitFor();
  assert.equal(await (await cardButton(p, "prod-web-1", "Stop")).count(), 0, "bob is not offered Stop in acme-prod");
}));

test("an error is shown on the page, not only read out, and the next command clears it", () => step("error", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  // The demo's server stops answering (as when its terminal is closed).
  await p.route("**/console/command", (route) => route.abort());
  await type(p, "/charlize help");
  const shown = p.getByRole("alert").filter({ hasText: "The demo's server did not answer" });
  await shown.waitFor();
  assert.ok(await shown.isVisible(), "the error is visible");
  await p.screenshot({ path: `${SCREENSHOT_DIR}/console-error.png` });
  await p.unroute("**/console/command");
  await type(p, "/charlize help");
  await shown.waitFor({ state: "hidden" });
  await messages(p).getByText(/help/i).first().waitFor();
}));

test("the picker's type-ahead", () => step("picker", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  await type(p, "/charlize");
  const modal = p.getByRole("dialog", { name: "Find instances" });
  await modal.waitFor();
  const search = modal.getByRole("combobox").last();
  // With the demo's server gone the type-ahead says so inside its menu,
  // as Slack does, lists nothing, and leaves the page's line alone; the
  // next search replaces it.
  await p.route("**/console/suggest", (route) => route.abort());
  await search.fill("prod");
  const shown = modal.locator("ul[role=listbox]:not([hidden]) li").filter({ hasText: "Couldn't load options: The demo's server did not answer" });
  await shown.waitFor();
  assert.equal(await modal.locator("ul[role=listbox]:not([hidden]) li").count(), 1, "only the failure is listed");
  assert.equal(await p.getByRole("alert").filter({ hasText: "did not answer" }).count(), 0, "the page's line stays clear");
  await p.screenshot({ path: `${SCREENSHOT_DIR}/console-suggest-error.png` });
  await p.unroute("**/console/suggest");
  await search.fill("prod-db");
  await shown.waitFor({ state: "detached" });
  await modal.getByRole("option", { name: /prod-db-1/ }).click();
  await modal.locator("button[type=submit]").click();
  await modal.waitFor({ state: "detached" });
  await messages(p).getByText("prod-db-1").first().waitFor();
}));

test("screenshot for the README", () => step("readme", async (p) => {
  await p.goto(DEMO_URL);
  await actAs(p, "U0DEMOALICE");
  await p.getByRole("button", { name: "Reset demo" }).click();
  await p.locator("#confirm-ok").click();
  await messages(p).getByText("Nothing here yet").waitFor();
  await type(p, "/charlize list account:acme-staging");
  await rowButton(p, "staging-web-1", "Reboot").waitFor();
  await type(p, "/charlize status prod-web-1");
  await (await cardButton(p, "prod-web-1", "Stop")).click();
  await p.locator("#confirm").waitFor({ state: "visible" });
  await p.screenshot({ path: `${SCREENSHOT_DIR}/console-confirm.png` });
  await p.locator("#confirm-ok").click();
  await messages(p).getByText(/✅.*prod-web-1.*stopped/).first().waitFor();
  await p.screenshot({ path: `${SCREENSHOT_DIR}/console.png` });
}));

test("the install page and the OAuth result pages", { skip: !INSTALL_URL }, () => step("install", async (p) => {
  await p.goto(INSTALL_URL + "/slack/install");
  await p.getByRole("heading", { name: "Install Charlize" }).waitFor();
  const link = p.locator("#add-to-slack");
  const href = await link.getAttribute("href");
  const state = new URL(href).searchParams.get("state");
  assert.ok(state, "the Add to Slack link carries a state");
  assert.ok(await link.getByRole("img", { name: "Add to Slack" }).count(), "the button image has alt text");

  await p.goto(`${INSTALL_URL}/slack/oauth_redirect?code=browser-test-code&state=${encodeURIComponent(state)}`);
  await p.getByRole("heading", { name: /Charlize is installed/ }).waitFor();
  assert.match(await p.locator("body").innerText(), /help/);

  // The same state twice is refused, with a way to start again.
  await p.goto(`${INSTALL_URL}/slack/oauth_redirect?code=browser-test-code&state=${encodeURIComponent(state)}`);
  await p.locator(".error").waitFor();
  await p.getByRole("link", { name: "Start the installation again" }).waitFor();

  // A cancelled install says so.
  await p.goto(INSTALL_URL + "/slack/install");
  const again = new URL(await p.locator("#add-to-slack").getAttribute("href")).searchParams.get("state");
  await p.goto(`${INSTALL_URL}/slack/oauth_redirect?error=access_denied&state=${encodeURIComponent(again)}`);
  await p.locator(".error h1").waitFor();
}));
