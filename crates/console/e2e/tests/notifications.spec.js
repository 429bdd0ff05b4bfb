// Notifications in the browser: a carrier sets quiet hours (half a pair is refused next to
// its field), texts go to a number it confirms with the code it was sent (the embedded
// server spools texts and codes under its data directory), chooses the digest for offers
// by email; then a broker's counter-offer appears in its list live, is texted with the
// code that takes it, and is marked read.
const fs = require("node:fs");
const path = require("node:path");
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad, call } = require("./helpers");

const smsDir = () => path.join(path.dirname(process.env.LANERUNNER_MAIL_DIR), "sms");

async function eventually(what, fn) {
  for (let i = 0; i < 150; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const hhmm = (d) => `${String(d.getUTCHours()).padStart(2, "0")}:00`;

test("a carrier hears a broker's counter-offer in the app, live, and by text", async ({ browser }) => {
  test.setTimeout(120_000);
  const carrier = await (await browser.newContext()).newPage();
  const broker = await (await browser.newContext()).newPage();
  await signUp(carrier, "carrier", `nt-c-${run}@example.com`);

  await carrier.getByRole("link", { name: /^Notifications/ }).click();
  await expect(carrier.getByRole("heading", { name: "Notifications", exact: true })).toBeVisible();
  await expect(carrier.getByText("Nothing yet")).toBeVisible();
  await accessible(carrier, "notifications");

  await carrier.getByRole("link", { name: "What you are told, and how" }).click();
  await expect(carrier.getByRole("heading", { name: "Notification settings" })).toBeVisible();
  await accessible(carrier, "notification settings");

  // Quiet hours need both ends: the missing one is named next to its field.
  const quiet = carrier.getByRole("form", { name: "Quiet hours and digest" });
  await quiet.getByLabel(/^Time zone/).fill("UTC");
  // Hours that do not cover now, so the text below is not held back.
  const now = new Date();
  await quiet.getByLabel("Quiet hours start (HH:MM)").fill(hhmm(new Date(now.getTime() + 2 * 3600_000)));
  await quiet.getByRole("button", { name: "Save quiet hours" }).click();
  await expect(quiet.locator(".field-error")).toContainText("both a start and an end");
  await quiet.getByLabel("Quiet hours end (HH:MM)").fill(hhmm(new Date(now.getTime() + 3 * 3600_000)));
  await quiet.getByRole("button", { name: "Save quiet hours" }).click();
  await expect(carrier.locator("#toast")).toHaveText("Saved");
  await expect(carrier.getByRole("form", { name: "Quiet hours and digest" }).getByLabel("Quiet hours end (HH:MM)")).toHaveValue(hhmm(new Date(now.getTime() + 3 * 3600_000)));

  // A number that is not one, then the real one, confirmed with the code sent to it.
  let phone = carrier.getByRole("form", { name: "Mobile number" });
  await phone.getByLabel("Mobile number").fill("555-0100");
  await phone.getByRole("button", { name: "Text me a code" }).click();
  await expect(phone.locator(".field-error")).toContainText("E.164");
  await phone.getByLabel("Mobile number").fill("(415) 555-0100");
  await phone.getByRole("button", { name: "Text me a code" }).click();
  await expect(carrier.getByText("We texted a code to +14155550100.")).toBeVisible();
  const code = await eventually("the verification code", () => {
    const f = path.join(smsDir(), "verify-14155550100.txt");
    return fs.existsSync(f) && fs.readFileSync(f, "utf8").trim();
  });
  const confirm = carrier.getByRole("form", { name: "Confirm the number" });
  await confirm.getByLabel("Code").fill(code === "000000" ? "111111" : "000000");
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(confirm.locator(".field-error")).toContainText("not the code we texted");
  await confirm.getByLabel("Code").fill(code);
  await confirm.getByRole("button", { name: "Confirm" }).click();
  await expect(carrier.locator("#phone-state")).toContainText("Texts go to +14155550100.");

  // Offers by email go into the digest; the choice is kept.
  const what = carrier.getByRole("form", { name: "What you are told" });
  await what.getByLabel("Offers and counter-offers: Email").selectOption("digest");
  await carrier.evaluate(() => (document.getElementById("toast").textContent = ""));
  await what.getByRole("button", { name: "Save what you are told" }).click();
  await expect(carrier.locator("#toast")).toHaveText("Saved");
  await expect(carrier.getByRole("form", { name: "What you are told" }).getByLabel("Offers and counter-offers: Email")).toHaveValue("digest");
  await accessible(carrier, "notification settings, filled in");

  // The broker posts a load; the carrier offers; the broker counters.
  await signUp(broker, "broker", `nt-b-${run}@example.com`);
  const reference = `NT-${run}`;
  await postLoad(broker, reference);
  const load = (await call(broker, "GET", "/v1/loads?limit=50")).body.items.find((l) => l.reference === reference);
  await carrier.getByRole("link", { name: "Back to your notifications" }).click();
  await expect(carrier.getByRole("heading", { name: "Notifications", exact: true })).toBeVisible();
  const opened = await eventually("the negotiation to open", async () => {
    const r = await call(carrier, "POST", "/v1/negotiations", { load_id: load.id, move: { move: "offer", rate_cents: 260000 } });
    return r.status === 201 && r.body;
  });
  const countered = await call(broker, "POST", `/v1/negotiations/${opened.id}/moves`, { move: { move: "offer", rate_cents: 230000 } });
  expect(countered.status).toBe(200);

  // Live in the list, and texted with the code that takes it.
  const notice = carrier.getByRole("listitem").filter({ hasText: "The broker offers $2,300.00" });
  await expect(notice).toBeVisible({ timeout: 15_000 });
  await expect(carrier.locator("#unread")).toHaveText("1 unread");
  const text = await eventually("the text", () => {
    const files = fs.existsSync(smsDir()) ? fs.readdirSync(smsDir()).filter((f) => f.startsWith("SPOOL")) : [];
    return files.map((f) => fs.readFileSync(path.join(smsDir(), f), "utf8")).find((t) => t.includes("The broker offers $2,300.00"));
  });
  expect(text).toMatch(/To: \+14155550100/);
  expect(text).toMatch(/Reply YES \d{4} to accept\./);

  await notice.getByRole("button", { name: "Mark read" }).click();
  await expect(carrier.locator("#unread")).toHaveText("0 unread");
  await expect(carrier.getByRole("listitem").filter({ hasText: "The broker offers $2,300.00" }).getByRole("button", { name: "Mark read" })).toHaveCount(0);
});
