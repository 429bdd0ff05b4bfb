// Outreach in the browser: a carrier gives the number brokers' agents may call (a number
// that is not one is refused next to its field) and posts a truck in Dallas; a broker with
// a line and a posted Dallas load has the agent call the matched carriers, picks up as the
// carrier (without a Twilio account the call is simulated), hears the pitch, turns it down,
// and finds the call in the list as outbound and declined; once the load is booked to the
// carrier and on the road, a check call asks where the truck is.
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad, call } = require("./helpers");

const day = (n, hour) => {
  const d = new Date(Date.now() + n * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${String(hour).padStart(2, "0")}:00:00`;
};

test("a broker's agent calls the carrier matched to a load", async ({ browser }) => {
  test.setTimeout(120_000);
  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `outreach-c-${run}@example.com`);
  const usdot = 2_000_000 + (Date.now() % 1_000_000);
  expect((await call(carrier, "PUT", "/v1/carriers/authority", { usdot_number: usdot, mc_number: 400_000 + (Date.now() % 99_999), insurance_expires_on: "2099-06-30" })).status).toBe(200);
  await carrier.getByRole("link", { name: "Settings" }).click();
  const dispatch = carrier.getByRole("form", { name: "Dispatch number" });
  await dispatch.getByLabel("Dispatch phone number").fill("call me");
  await dispatch.getByRole("button", { name: "Save the number" }).click();
  await expect(dispatch.locator(".field-error")).toContainText("phone number");
  await dispatch.getByLabel("Dispatch phone number").fill("(415) 555-0177");
  await dispatch.getByRole("button", { name: "Save the number" }).click();
  await expect(carrier.getByText("may call +14155550177 about loads that fit your posted trucks")).toBeVisible();
  await accessible(carrier, "settings with a dispatch number");
  const truck = await call(carrier, "POST", "/v1/trucks", {
    equipment: "V", trailer_length_ft: 53, available_at: { place: "Dallas, TX" },
    available_from: day(0, 6), available_until: day(9, 18), max_deadhead_miles: 150,
  });
  expect(truck.status).toBe(201);

  const brokerContext = await browser.newContext();
  const page = await brokerContext.newPage();
  await signUp(page, "broker", `outreach-b-${run}@example.com`);
  await postLoad(page, `OUT-${run}`);
  await page.getByRole("link", { name: "Calls", exact: true }).click();
  const line = page.getByRole("form", { name: "Add a line" });
  await line.getByLabel("Phone number (E.164)").fill(`+1415${String((Date.now() + 7) % 10_000_000).padStart(7, "0")}`);
  await line.getByLabel("Company name the agent answers with").fill("Acme Logistics");
  await line.getByRole("button", { name: "Save line" }).click();
  await expect(page.locator("#lines")).toContainText("Acme Logistics");

  // Matching suggests the carrier from its truck a moment after the load is posted.
  const outreach = page.getByRole("form", { name: "Call matched carriers" });
  await expect(async () => {
    await outreach.getByRole("button", { name: "Call them" }).click();
    await expect(page.locator("#outreach-out")).toContainText("+14155550177", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await accessible(page, "outreach");
  await page.getByRole("button", { name: "Pick up as the carrier" }).click();
  const transcript = page.locator("#test-call");
  await expect(transcript).toContainText("calling for Acme Logistics");
  await expect(transcript).toContainText(`Load OUT-${run}`);
  const talk = page.getByRole("form", { name: "Test call" });
  await talk.getByLabel("Caller says").fill("no thanks");
  await talk.getByRole("button", { name: "Say" }).click();
  await expect(page.getByRole("link", { name: "See the call" })).toBeVisible();

  // Calling again finds no one new to call.
  await outreach.getByRole("button", { name: "Call them" }).click();
  await expect(outreach.getByRole("alert")).toContainText(/no carrier/i);

  await page.reload();
  const row = page.locator("#calls tbody tr").first();
  await expect(row).toContainText("to +14155550177");
  await expect(row).toContainText("Declined");

  // Booked to the carrier and dispatched, the load sends no positions: a check call.
  const carrierOrg = (await call(carrier, "GET", "/v1/me")).body.organization.id;
  const load = (await call(page, "GET", "/v1/loads?limit=100")).body.items.find((l) => l.reference === `OUT-${run}`);
  for (const body of [{ event: "cover", booking: { carrier_org_id: carrierOrg } }, { event: "dispatch" }]) {
    expect((await call(page, "POST", `/v1/loads/${load.id}/status`, body)).status).toBe(200);
  }
  await page.reload();
  const check = page.getByRole("form", { name: "Check on a load" });
  await expect(check.getByLabel("Load on the road")).toContainText(`OUT-${run}`);
  await expect(async () => {
    await check.getByRole("button", { name: "Call the carrier" }).click();
    await expect(page.locator("#check-call-out")).toContainText("+14155550177", { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await page.locator("#check-call-out").getByRole("button", { name: "Pick up as the carrier" }).click();
  await expect(transcript).toContainText("Where is the truck right now?");
  for (const [said, next] of [["near Birmingham on I-20", "When do you expect to deliver"], ["tomorrow morning", "Any problems"], ["none", "passed that on"]]) {
    await talk.getByLabel("Caller says").fill(said);
    await talk.getByRole("button", { name: "Say" }).click();
    await expect(transcript).toContainText(next);
  }
  await page.getByRole("link", { name: "See the call" }).click();
  await expect(page.locator("#call-outcome")).toHaveText("Checked in");
  await expect(page.locator("#check-location")).toHaveText("near Birmingham on I-20");
  await accessible(page, "a check call");
  await carrierContext.close();
  await brokerContext.close();
});
