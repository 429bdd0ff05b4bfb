// Screenshots of the console's main pages for docs/console.md, taken in headless Chromium
// against a served LaneRunner (LANERUNNER_URL) with a fresh broker and carrier.
//
//   bash scripts/console-screenshots.sh (which runs this file)
const path = require("path");
const { chromium } = require(path.join(__dirname, "../crates/console/e2e/node_modules/playwright-core"));

const BASE = process.env.LANERUNNER_URL || "http://127.0.0.1:18080";
const OUT = path.join(__dirname, "../docs/console");
const PASSWORD = "a long passphrase for screenshots";
const run = Date.now().toString(36);

async function signUp(page, kind) {
  await page.goto(`${BASE}/#/signup`);
  await page.getByLabel("Company name").fill(kind === "broker" ? "Lone Star Logistics" : "Red River Carriers");
  await page.getByLabel("You are a").selectOption(kind);
  if (kind === "carrier") await page.getByLabel("USDOT number (carriers)").fill(String(3_000_000 + (Date.now() % 5_000_000)));
  await page.getByLabel("Your name").fill("Pat Doe");
  await page.getByLabel("Email").fill(`${kind}-${run}@example.com`);
  await page.getByLabel("Password (12 characters or more)").fill(PASSWORD);
  await page.getByLabel(/I accept the Terms of Service/).check();
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Load board" }).waitFor();
}

async function post(page, reference, from, to, rate) {
  await page.getByRole("link", { name: "Post a load" }).first().click();
  await page.getByLabel("Reference").fill(reference);
  await page.getByLabel("Commodity").fill("paper rolls");
  await page.getByLabel("All-in rate ($)").fill(String(rate));
  await page.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill(from);
  await page.getByRole("group", { name: /Delivery/ }).getByLabel("Place").fill(to);
  await page.getByRole("button", { name: "Post to the board" }).click();
  await page.getByRole("heading", { name: "My loads" }).waitFor();
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const viewport = { width: 1280, height: 800 };
  const broker = await (await browser.newContext({ viewport })).newPage();
  await signUp(broker, "broker");
  await broker.getByRole("link", { name: "Post a load" }).first().click();
  await broker.screenshot({ path: `${OUT}/post-a-load.png` });
  for (const [ref, from, to, rate] of [["PO-1001", "Dallas, TX", "Atlanta, GA", 2450], ["PO-1002", "Fort Worth, TX", "Memphis, TN", 1900], ["PO-1003", "Houston, TX", "Denver, CO", 3100]]) {
    await post(broker, ref, from, to, rate);
  }
  await broker.screenshot({ path: `${OUT}/my-loads.png` });
  const carrier = await (await browser.newContext({ viewport })).newPage();
  await signUp(carrier, "carrier");
  await carrier.getByLabel("Origin").fill("Dallas, TX");
  await carrier.getByLabel("Within (miles)").fill("300");
  await carrier.getByRole("button", { name: "Search", exact: true }).click();
  await carrier.waitForFunction(() => Number(document.querySelector("#map")?.dataset.markers || 0) >= 3);
  await carrier.waitForTimeout(500);
  await carrier.screenshot({ path: `${OUT}/load-board.png` });
  await carrier.locator("tbody tr").filter({ hasText: "Atlanta, GA" }).first().getByRole("link").click();
  const offer = carrier.getByRole("form", { name: "Make an offer" });
  await offer.getByLabel("Your offer").fill("can you do 2600?");
  await offer.getByRole("button", { name: "Send offer" }).click();
  await carrier.locator("section.negotiation").waitFor();
  await broker.getByRole("link", { name: "PO-1001" }).click();
  const thread = broker.locator("section.negotiation");
  await thread.getByLabel("Your answer").fill("best I can do is 2,500");
  await thread.getByRole("button", { name: "Send" }).click();
  await thread.getByText("offered $2,500").waitFor();
  await broker.screenshot({ path: `${OUT}/negotiation.png`, fullPage: true });
  // The owner's controls and history on the same page, then the truck search and files.
  await broker.locator("#history").scrollIntoViewIfNeeded();
  await broker.screenshot({ path: `${OUT}/load-history.png` });
  await broker.getByRole("link", { name: "Find trucks" }).click();
  await broker.getByLabel("Near (pickup)").fill("Dallas, TX");
  await broker.getByRole("button", { name: "Find trucks" }).click();
  await broker.locator("#truck-results").waitFor();
  await broker.getByRole("link", { name: "Files", exact: true }).click();
  await broker.getByLabel("File (PDF or photo)").setInputFiles({ name: "rate-confirmation-PO-1001.pdf", mimeType: "application/pdf",
    buffer: Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n") });
  await broker.getByRole("button", { name: "Upload" }).click();
  await broker.locator("#files").waitFor();
  await broker.screenshot({ path: `${OUT}/files.png` });
  await broker.getByRole("link", { name: "Rates" }).click();
  await broker.getByLabel("Origin").fill("Dallas, TX");
  await broker.getByLabel("Destination").fill("Atlanta, GA");
  await broker.getByRole("button", { name: "Get the rate" }).click();
  await broker.locator("#rates-out h2, #rates-out .alert").first().waitFor();
  await broker.screenshot({ path: `${OUT}/rates.png`, fullPage: true });
  await broker.locator("#nav a.who").click();
  await broker.getByRole("heading", { name: "Your account" }).waitFor();
  await broker.screenshot({ path: `${OUT}/account.png` });
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
