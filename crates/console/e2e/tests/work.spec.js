// A broker's daily work beyond posting: loads imported from a spreadsheet, a load taken
// through its statuses with its history (and off every carrier's board at once when it is
// cancelled), trucks found near a pickup, and a lane's rate with its charts.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad } = require("./helpers");

function day(days, hour) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)} ${String(hour).padStart(2, "0")}:00`;
}

function csvFile(name, rows) {
  const header = "reference,origin,destination,pickup_start,delivery_start,equipment,trailer_length_ft,weight_lbs,commodity,rate_cents";
  const file = path.join(os.tmpdir(), `${run}-${name}.csv`);
  fs.writeFileSync(file, [header, ...rows].join("\n") + "\n");
  return file;
}

test("a broker imports loads from CSV: every bad row is listed, a good file imports once", async ({ page }) => {
  await signUp(page, "broker", `imp-${run}@example.com`);
  await page.getByRole("link", { name: "My loads" }).click();
  await page.getByRole("link", { name: "Import from CSV" }).click();
  await expect(page.getByRole("heading", { name: "Import loads" })).toBeVisible();
  await accessible(page, "import loads");

  const bad = csvFile("bad", [
    `IMP-${run}-1,"Dallas, TX","Atlanta, GA",${day(3, 8)},${day(5, 9)},V,53,40000,paper,245000`,
    `IMP-${run}-2,"Nowhereville, ZZ","Atlanta, GA",${day(3, 8)},${day(5, 9)},V,53,heavy,paper,245000`,
  ]);
  await page.getByLabel("CSV file").setInputFiles(bad);
  await page.getByRole("button", { name: "Import" }).click();
  const errors = page.getByRole("table", { name: /Nothing was imported/ });
  await expect(errors).toBeVisible();
  await expect(errors.getByRole("row").filter({ hasText: "origin" })).toHaveCount(1);
  await expect(errors.getByRole("row").filter({ hasText: "weight_lbs" })).toHaveCount(1);
  await accessible(page, "import rejected");

  const good = csvFile("good", [
    `IMP-${run}-1,"Dallas, TX","Atlanta, GA",${day(3, 8)},${day(5, 9)},V,53,40000,paper,245000`,
    `IMP-${run}-2,"Memphis, TN","Chicago, IL",${day(4, 7)},${day(5, 15)},R,53,"38,000",produce,198000`,
  ]);
  await page.getByLabel("CSV file").setInputFiles(good);
  // A double click sends the file twice under one key: it is imported once.
  await page.getByRole("button", { name: "Import" }).dblclick();
  await expect(page.locator("#import-report")).toContainText("Imported 2 loads as drafts.");
  await page.getByRole("link", { name: "My loads" }).click();
  await expect(page.getByRole("row", { name: new RegExp(`IMP-${run}-1`) })).toHaveCount(1);
  await expect(page.getByRole("row", { name: new RegExp(`IMP-${run}-2`) })).toContainText("draft");
});

test("a broker runs a load through its statuses; cancelling takes it off a carrier's board live", async ({ browser }) => {
  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `life-${run}@example.com`);
  await postLoad(broker, `LF-${run}-1`, "Little Rock, AR");
  await postLoad(broker, `LF-${run}-2`, "Little Rock, AR");

  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `life-c-${run}@example.com`);
  await carrier.getByLabel("Origin").fill("Little Rock, AR");
  const rows = carrier.locator("tbody tr").filter({ hasText: "Little Rock, AR" });
  // The board's index follows the posts a moment later: search again until both are in.
  await expect(async () => {
    await carrier.getByRole("button", { name: "Search", exact: true }).click();
    await expect(rows).toHaveCount(2, { timeout: 1000 });
  }).toPass({ timeout: 15_000 });

  // Taken off the board and put back: the history says both.
  await broker.getByRole("link", { name: `LF-${run}-1` }).click();
  await broker.getByRole("button", { name: "Take off the board" }).click();
  await expect(broker.locator("dl.facts")).toContainText("draft");
  await expect(rows).toHaveCount(1);
  await broker.getByRole("button", { name: "Post to the board" }).click();
  await expect(broker.locator("dl.facts")).toContainText("posted");
  const history = broker.locator("#history");
  await expect(history).toContainText("posted → draft");
  await expect(history).toContainText("draft → posted");
  await accessible(broker, "a load with its history");

  // Cancelled with a reason: it leaves the carrier's board without a search.
  await broker.getByLabel("Reason to cancel").fill("shipper moved it to rail");
  await broker.getByRole("button", { name: "Cancel the load" }).click();
  await expect(broker.locator("dl.facts")).toContainText("cancelled");
  await expect(broker.locator("#history")).toContainText("shipper moved it to rail");
  await expect(carrier.locator("#summary")).toContainText("cancelled");
  await expect(rows).toHaveCount(1);

  // Copied to a new draft, opened for editing.
  await broker.getByRole("button", { name: "Copy to a new load" }).click();
  await expect(broker.getByRole("heading", { name: `Edit LF-${run}-1` })).toBeVisible();
  await brokerContext.close();
  await carrierContext.close();
});

test("a broker finds trucks near a pickup and messages a carrier about a load", async ({ browser }) => {
  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `ft-c-${run}@example.com`);
  await carrier.getByRole("link", { name: "My trucks" }).click();
  const form = carrier.getByRole("form", { name: "Post a truck" });
  await form.getByLabel("Available at").fill("Shreveport, LA");
  await form.getByRole("button", { name: "Post truck" }).click();
  await expect(carrier.getByRole("heading", { name: "V truck at Shreveport, LA" })).toBeVisible();

  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `ft-b-${run}@example.com`);
  await postLoad(broker, `FT-${run}`, "Shreveport, LA");
  await broker.getByRole("link", { name: "Find trucks" }).click();
  await accessible(broker, "find trucks");
  const search = broker.getByRole("form", { name: "Find trucks" });
  // Bad input is named next to its field.
  await search.getByLabel("Near (pickup)").fill("Atlantis, QQ");
  await search.getByRole("button", { name: "Find trucks" }).click();
  await expect(search.getByRole("alert")).toBeVisible();
  await search.getByLabel("Near (pickup)").fill("Shreveport, LA");
  await search.getByRole("button", { name: "Find trucks" }).click();
  const found = broker.locator("#truck-results tbody tr");
  await expect(found.first()).toContainText("Shreveport, LA");
  await expect(found.first()).toContainText("not declared");
  await accessible(broker, "trucks found");
  await found.first().getByRole("button", { name: /Message the carrier/ }).click();
  await expect(broker).toHaveURL(/#\/chat\//);
  await broker.getByRole("textbox", { name: "Message" }).fill("Your truck fits my load out of Shreveport.");
  await broker.getByRole("button", { name: "Send" }).click();
  await expect(broker.locator("ol.thread")).toContainText("You: Your truck fits my load");
  await brokerContext.close();
  await carrierContext.close();
});

test("rates: a lane's quote, its 13 months and its windows (demo market)", async ({ page }) => {
  const demo = process.env.LANERUNNER_DEMO_URL;
  test.skip(!demo, "LANERUNNER_DEMO_URL (a `serve --demo` instance) is not set");
  await page.goto(`${demo}/#/signin`);
  await page.getByLabel("Email").fill("demo-broker-1@demo.lanerunner.dev");
  await page.getByLabel("Password").fill("lanerunner demo market");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Load board" })).toBeVisible();
  await page.getByRole("link", { name: "Rates" }).click();
  await accessible(page, "rates");
  const form = page.getByRole("form", { name: "Quote a lane" });
  await form.getByLabel("Origin").fill("Nowhereville, ZZ");
  await form.getByLabel("Destination").fill("Dallas, TX");
  await form.getByRole("button", { name: "Get the rate" }).click();
  await expect(form.getByRole("alert")).toBeVisible();
  await form.getByLabel("Origin").fill("Chicago, IL");
  await form.getByRole("button", { name: "Get the rate" }).click();
  const quote = page.locator("#quote");
  await expect(quote).toContainText("all in");
  await expect(quote).toContainText("8 in 10 loads like this book between");
  await expect(page.locator("svg.chart")).toBeVisible();
  await expect(page.locator("#lane-history tbody tr")).toHaveCount(13);
  await expect(page.locator("#lane-windows tbody tr").first()).toContainText("7d");
  await accessible(page, "a lane's rates");
});
