// What the console's browser tests share: accounts, axe-core checks, posting a load, the
// embedded mail spool (LANERUNNER_MAIL_DIR), TOTP codes, and API calls as a signed-in page.
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const { expect } = require("@playwright/test");
const { default: AxeBuilder } = require("@axe-core/playwright");

const PASSWORD = "a long passphrase for tests";
const run = Date.now().toString(36);

async function accessible(page, name) {
  const result = await new AxeBuilder({ page }).analyze();
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${name}: ${v.id} ${v.help} (${v.nodes.map((n) => `${n.target} ${n.failureSummary}`).join(", ")})`)).toEqual([]);
}

async function signUp(page, kind, email) {
  await page.goto("/#/signup");
  await expect(page.getByRole("heading", { name: "Create an account" })).toBeVisible();
  await accessible(page, "sign-up");
  await page.getByLabel("Company name").fill(`${kind} ${run}`);
  await page.getByLabel("You are a").selectOption(kind);
  if (kind === "carrier") await page.getByLabel("USDOT number (carriers)").fill(String(1_000_000 + (Date.now() % 8_000_000)));
  await page.getByLabel("Your name").fill("Pat Doe");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password (12 characters or more)").fill(PASSWORD);
  await page.getByLabel(/I accept the Terms of Service \(version .+\)/).check();
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Load board" })).toBeVisible();
}

async function postLoad(page, reference, from = "Dallas, TX") {
  await page.getByRole("link", { name: "Post a load" }).first().click();
  await expect(page.getByRole("heading", { name: "Post a load" })).toBeVisible();
  await page.getByLabel("Reference").fill(reference);
  await page.getByLabel("Commodity").fill("paper rolls");
  await page.getByLabel("All-in rate ($)").fill("2450");
  await page.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill(from);
  await page.getByRole("group", { name: /Delivery/ }).getByLabel("Place").fill("Atlanta, GA");
  await page.getByRole("button", { name: "Post to the board" }).click();
  await expect(page.getByRole("heading", { name: "My loads" })).toBeVisible();
  await expect(page.getByRole("row", { name: new RegExp(reference) })).toContainText("posted");
}

/** The link in the newest email to `to` whose text holds `marker` (waits for the mailer). */
async function linkFromMail(to, marker) {
  const dir = process.env.LANERUNNER_MAIL_DIR;
  if (!dir) throw new Error("LANERUNNER_MAIL_DIR is not set (scripts/console-e2e.sh sets it)");
  for (let i = 0; i < 100; i++) {
    const mails = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")) : [];
    const found = mails
      .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
      .filter((m) => m.includes(`To: ${to}\r\n`) && m.includes(marker));
    if (found.length) {
      const link = found[found.length - 1].match(/https?:\/\/\S+token=\S+/);
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no email to ${to} with “${marker}”`);
}

/** RFC 6238: the 6-digit SHA-1 code of a base32 secret for the current 30-second step. */
function totp(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = crypto.createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** Calls the API as the page's signed-in user. */
async function call(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const s = JSON.parse(sessionStorage.getItem("lanerunner.session"));
    const r = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${s.access}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, path, body]);
}

module.exports = { PASSWORD, run, accessible, signUp, postLoad, linkFromMail, totp, call };
