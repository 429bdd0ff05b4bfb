// A load's paperwork in the browser: the broker sets its letterhead and logo, books a load,
// and finds the rate confirmation and bill of lading generated; the carrier signs the rate
// confirmation, attaches proof of delivery (a file that lies about its type is refused next
// to the input), checks an altered copy; delivery completes the checklist, the broker
// invoices the load and records the check that pays it, and the carrier takes quick pay
// on the terms the broker set, paid by a check the broker records.
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad, call } = require("./helpers");

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001049444154789c63e08e590b440c100a001bb60451e9cb3f810000000049454e44ae426082", "hex");
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");

test("broker and carrier take a load's paperwork from booking to a complete checklist", async ({ browser }) => {
  test.setTimeout(120_000);
  const carrierCtx = await browser.newContext();
  const carrier = await carrierCtx.newPage();
  await signUp(carrier, "carrier", `docs-c-${run}@example.com`);
  const carrierOrg = (await call(carrier, "GET", "/v1/me")).body.organization.id;

  const brokerCtx = await browser.newContext();
  const broker = await brokerCtx.newPage();
  await signUp(broker, "broker", `docs-b-${run}@example.com`);

  // The letterhead: name, terms and a logo.
  await broker.getByRole("link", { name: "Paperwork" }).click();
  await expect(broker.getByRole("heading", { name: "Paperwork" })).toBeVisible();
  await broker.getByRole("link", { name: "Letterhead and terms on your documents" }).click();
  await expect(broker.getByRole("heading", { name: "Letterhead and terms" })).toBeVisible();
  await broker.getByLabel("Legal name").fill(`Acme Freight ${run} LLC`);
  await broker.getByLabel("Email").fill("not an email");
  // The browser refuses it before it is sent (the server checks it too).
  expect(await broker.getByLabel("Email").evaluate((e) => e.validity.valid)).toBe(false);
  await broker.getByLabel("Email").fill(`ops-${run}@example.com`);
  await broker.getByLabel("Terms on every rate confirmation").fill("Detention $60/hour after two free hours.");
  await broker.getByRole("button", { name: "Save" }).click();
  await expect(broker.locator("#toast")).toContainText("Letterhead saved");
  await broker.getByLabel("Logo (PNG or JPEG, at most 256 KB)").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
  await broker.getByRole("button", { name: "Upload the logo" }).click();
  await expect(broker.getByRole("img", { name: "Your logo" })).toBeVisible();
  await accessible(broker, "letterhead");

  // The terms the broker offers its carriers: 15 days, or quick pay at 2.5 %.
  await broker.getByRole("link", { name: "Payouts" }).click();
  await expect(broker.getByRole("heading", { name: "Payouts" })).toBeVisible();
  await broker.getByLabel("Quick pay fee (%)").fill("25");
  expect(await broker.getByLabel("Quick pay fee (%)").evaluate((e) => e.validity.valid)).toBe(false);
  await broker.getByLabel("Standard terms (days after the paperwork is complete)").fill("15");
  await broker.getByLabel("Quick pay fee (%)").fill("2.5");
  await broker.getByRole("button", { name: "Save the terms" }).click();
  await expect(broker.locator("#toast")).toContainText("Payout terms saved");
  await accessible(broker, "payout terms");

  // Booked: the paperwork is generated.
  const reference = `DOCS-${run}`;
  await postLoad(broker, reference);
  const loads = (await call(broker, "GET", "/v1/loads?limit=50")).body.items;
  const load = loads.find((l) => l.reference === reference);
  const covered = await call(broker, "POST", `/v1/loads/${load.id}/status`, { event: "cover", booking: { carrier_org_id: carrierOrg } });
  expect(covered.status).toBe(200);
  await broker.getByRole("link", { name: "Paperwork" }).click();
  await broker.getByRole("link", { name: reference }).click();
  await expect(broker.getByRole("heading", { name: `Paperwork · ${reference}` })).toBeVisible();
  const docs = broker.locator("#documents tbody tr");
  await expect(docs).toHaveCount(2, { timeout: 15_000 });
  await expect(docs.first()).toContainText("Rate confirmation");
  await expect(broker.locator('#checklist [data-item="rate_confirmation_signed"]')).toContainText("Missing");
  await accessible(broker, "a load's paperwork");
  const [download] = await Promise.all([
    broker.waitForEvent("download"),
    broker.getByRole("button", { name: /^Open rate-confirmation/ }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^rate-confirmation-.*\.pdf$/);
  const fs = require("node:fs");
  expect(fs.readFileSync(await download.path()).subarray(0, 5).toString()).toBe("%PDF-");

  // The carrier signs the rate confirmation.
  await carrier.getByRole("link", { name: "Paperwork" }).click();
  await expect(carrier.getByRole("row", { name: new RegExp(reference) })).toContainText("Missing");
  await carrier.getByRole("link", { name: reference }).click();
  await expect(carrier.locator("#documents tbody tr")).toHaveCount(2);
  await carrier.getByRole("button", { name: /^Sign rate-confirmation/ }).click();
  await carrier.getByLabel("Your full name").fill("Casey Carrier");
  await carrier.getByRole("button", { name: "Sign", exact: true }).click();
  await expect(carrier.locator("#consent-error")).toContainText("must be true");
  await carrier.getByRole("checkbox").check();
  await carrier.getByRole("button", { name: "Sign", exact: true }).click();
  await expect(carrier.locator("#documents")).toContainText("Casey Carrier for the carrier");
  await expect(carrier.locator('#checklist [data-item="rate_confirmation_signed"]')).toContainText("Done");
  await accessible(carrier, "signed");

  // Proof of delivery, from a phone: a file that lies is refused next to its input.
  await carrier.getByLabel("Kind").selectOption("proof_of_delivery");
  await carrier.getByLabel("File (PDF or photo)").setInputFiles({ name: "pod.pdf", mimeType: "application/pdf", buffer: PNG });
  await carrier.getByRole("button", { name: "Attach" }).click();
  await expect(carrier.locator(".field-error")).toContainText("PNG");
  await carrier.getByLabel("File (PDF or photo)").setInputFiles({ name: "pod.pdf", mimeType: "application/pdf", buffer: PDF });
  await carrier.getByLabel("Note (optional)").fill("signed at the dock");
  await carrier.getByRole("button", { name: "Attach" }).click();
  await expect(carrier.locator("#documents tbody tr")).toHaveCount(4);
  await expect(carrier.locator("#documents")).toContainText("signed at the dock");

  // A copy altered after signing is caught by its hash.
  await carrier.getByRole("button", { name: /^Check a copy of rate-confirmation-.*-signed\.pdf/ }).click();
  await carrier.getByLabel("The copy to check", { exact: true }).setInputFiles({ name: "copy.pdf", mimeType: "application/pdf", buffer: PDF });
  await carrier.getByRole("button", { name: "Check", exact: true }).click();
  await expect(carrier.getByRole("status").filter({ hasText: "Altered" })).toBeVisible();

  // Delivered: nothing is missing.
  for (const event of ["dispatch", "arrive_pickup", "depart_pickup", "arrive_delivery", "deliver"]) {
    expect((await call(broker, "POST", `/v1/loads/${load.id}/status`, { event })).status).toBe(200);
  }
  await expect(async () => {
    await carrier.reload();
    await expect(carrier.getByRole("heading", { name: "Checklist: complete, ready to invoice" })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 15_000 });

  // The broker bills the shipper for it and records the check that pays it.
  await broker.getByRole("link", { name: "Invoices" }).click();
  await expect(broker.getByRole("heading", { name: "Invoices", exact: true })).toBeVisible();
  // The one load ready to invoice is offered first.
  await expect(broker.getByLabel("Load").locator("option:checked")).toContainText(reference);
  await broker.getByLabel("Customer", { exact: true }).fill("Big Box Retail");
  await broker.getByLabel("Customer's billing email").fill(`ap-${run}@example.com`);
  await broker.getByLabel("Linehaul ($)").fill("3100");
  await broker.getByLabel("Accessorials ($, optional)").fill("75.50");
  await broker.getByRole("button", { name: "Issue the invoice" }).click();
  const invoice = broker.locator("#invoices tbody tr").first();
  await expect(invoice).toContainText("$3,175.50");
  await expect(invoice).toContainText("Open");
  await accessible(broker, "invoices");
  await invoice.getByRole("button", { name: /^Record a payment on INV-/ }).click();
  await broker.getByLabel("Amount received ($)").fill("5000");
  await broker.getByLabel("Check or wire reference").fill("CHK-1042");
  await broker.getByRole("button", { name: "Record the payment" }).click();
  await expect(broker.locator("#invoice-action .alert")).toContainText("outstanding");
  await broker.getByLabel("Amount received ($)").fill("3175.50");
  await broker.getByRole("button", { name: "Record the payment" }).click();
  await expect(broker.locator("#invoices tbody tr").first()).toContainText("Paid");
  await expect(broker.locator("#nothing-to-invoice")).toBeVisible();

  // The carrier is offered the broker's terms and takes quick pay; the broker pays by
  // check and records it.
  await carrier.getByRole("link", { name: "Payouts" }).click();
  await expect(carrier.locator("#payout-account")).toContainText("Not set up");
  const payout = carrier.locator("#payouts tbody tr").filter({ hasText: reference });
  await expect(payout).toContainText("Awaiting the carrier's choice");
  await expect(payout.getByRole("button", { name: new RegExp(`^Standard: .* for ${reference}$`) })).toBeVisible();
  await accessible(carrier, "payouts");
  await payout.getByRole("button", { name: new RegExp(`^Quick pay: .* now \\(fee .*\\) for ${reference}$`) }).click();
  await expect(payout).toContainText("Scheduled");
  await expect(payout).toContainText("Quick pay");
  await broker.getByRole("link", { name: "Payouts" }).click();
  const owed = broker.locator("#payouts tbody tr").filter({ hasText: reference });
  await expect(owed).toContainText("You pay");
  await owed.getByRole("button", { name: `Record the payout for ${reference}` }).click();
  await broker.getByLabel("Check or wire reference").fill("CHK-2001");
  await broker.getByRole("button", { name: "Record it paid" }).click();
  await expect(owed).toContainText("Paid");
  await expect(owed).toContainText("CHK-2001");
  await carrier.reload();
  await expect(carrier.locator("#payouts tbody tr").filter({ hasText: reference })).toContainText("Paid");
  await carrierCtx.close();
  await brokerCtx.close();
});
