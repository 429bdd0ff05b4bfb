// Tracking in the browser: the broker opens a booked load's tracking from Paperwork and
// makes the driver's link; the driver's phone (geolocation granted, at the pickup) opens
// it, shares its location and checks in; the broker sees the arrival and the truck on the
// map; the shipper's link shows the load without an account until the broker revokes it.
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad, call } = require("./helpers");

/** The page a link opens, on this server (the link's host is the configured public URL). */
const hashOf = (url) => `/${url.slice(url.indexOf("#"))}`;

test("a booked load is tracked from the driver's phone and shared with the shipper", async ({ browser }) => {
  test.setTimeout(120_000);
  const carrierCtx = await browser.newContext();
  const carrier = await carrierCtx.newPage();
  await signUp(carrier, "carrier", `trk-c-${run}@example.com`);
  const carrierOrg = (await call(carrier, "GET", "/v1/me")).body.organization.id;
  const brokerCtx = await browser.newContext();
  const broker = await brokerCtx.newPage();
  await signUp(broker, "broker", `trk-b-${run}@example.com`);

  const reference = `TRK-${run}`;
  await postLoad(broker, reference);
  const load = (await call(broker, "GET", "/v1/loads?limit=50")).body.items.find((l) => l.reference === reference);
  expect((await call(broker, "POST", `/v1/loads/${load.id}/status`, { event: "cover", booking: { carrier_org_id: carrierOrg } })).status).toBe(200);
  const pickup = load.stops[0].location;

  // From Paperwork to the load's tracking: nothing reported yet.
  await broker.getByRole("link", { name: "Paperwork" }).click();
  await broker.getByRole("row", { name: new RegExp(reference) }).getByRole("link", { name: "Track" }).click();
  await expect(broker.getByRole("heading", { name: `Tracking · ${reference}` })).toBeVisible({ timeout: 15_000 });
  await expect(broker.locator("#stops tbody tr")).toHaveCount(2);
  await expect(broker.locator("#tracking-status")).toContainText("no position yet");
  await accessible(broker, "a load's tracking");

  // The driver's link, shown once.
  await broker.getByRole("button", { name: "Make a link for the driver" }).click();
  const driverUrl = await broker.getByLabel("The driver's link", { exact: true }).inputValue();
  expect(driverUrl).toContain("#/driver?t=");
  await expect(broker.locator("#links tbody tr")).toHaveCount(1);

  // The driver's phone at the pickup: no account, its location shared while the page is open.
  const phoneCtx = await browser.newContext({ permissions: ["geolocation"], geolocation: { latitude: pickup.lat + 0.001, longitude: pickup.lon } });
  const phone = await phoneCtx.newPage();
  await phone.goto(hashOf(driverUrl));
  await expect(phone.getByRole("heading", { name: "Driver check-in" })).toBeVisible();
  await accessible(phone, "the driver's page");
  await phone.getByRole("button", { name: "Share my location" }).click();
  await expect(phone.locator("#driver-status")).toContainText("arrive pickup");

  // The broker hears it live, then sees the arrival, the load at the pickup, the truck on
  // the map.
  await expect(broker.locator("#tracking-live")).toContainText(`at ${pickup.label}`);
  await expect(async () => {
    await broker.reload();
    await expect(broker.locator("#tracking-status")).toContainText("at the stop", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  // The pickup's arrival is recorded; the delivery's is not.
  await expect(broker.locator('#stops [data-stop="0"] td').nth(1)).not.toHaveText("—");
  await expect(broker.locator('#stops [data-stop="1"] td').nth(1)).toHaveText("—");
  await expect(broker.locator("#tracking-map")).toHaveAttribute("data-truck", /^\d+\.\d{4},-\d+\.\d{4}$/);
  await expect(broker.locator("#positions tbody tr").first()).toContainText("Applied");
  expect((await call(broker, "GET", `/v1/loads/${load.id}`)).body.status).toBe("at_pickup");

  // The driver leaves (a check-in): in transit.
  await phone.getByRole("button", { name: "Departed" }).click();
  await expect(phone.locator("#driver-status")).toContainText("Departed recorded");
  await expect(async () => {
    expect((await call(broker, "GET", `/v1/loads/${load.id}`)).body.status).toBe("in_transit");
  }).toPass({ timeout: 15_000 });

  // The shipper's link: the load's position and status, no account, until revoked.
  await broker.reload();
  await broker.getByRole("button", { name: "Make a link for the shipper" }).click();
  const shipperUrl = await broker.getByLabel("The shipper's link", { exact: true }).inputValue();
  const shipperCtx = await browser.newContext();
  const shipper = await shipperCtx.newPage();
  await shipper.goto(hashOf(shipperUrl));
  await expect(shipper.getByRole("heading", { name: `Tracking · ${reference}` })).toBeVisible();
  await expect(shipper.locator("#shared")).toContainText("Atlanta, GA");
  await accessible(shipper, "the shipper's page");
  await broker.getByRole("button", { name: /^Revoke the shipper's link/ }).click();
  await expect(broker.locator("#links")).toContainText("Revoked");
  await shipper.reload();
  await expect(shipper.locator("#shared-gone")).toContainText("expired or was revoked");

  for (const ctx of [carrierCtx, brokerCtx, phoneCtx, shipperCtx]) await ctx.close();
});

test("a carrier connects Motive and its ELD truck tracks the load", async ({ browser }) => {
  test.setTimeout(120_000);
  const crypto = require("node:crypto");
  const carrierCtx = await browser.newContext();
  const carrier = await carrierCtx.newPage();
  await signUp(carrier, "carrier", `mot-c-${run}@example.com`);
  const carrierOrg = (await call(carrier, "GET", "/v1/me")).body.organization.id;
  const brokerCtx = await browser.newContext();
  const broker = await brokerCtx.newPage();
  await signUp(broker, "broker", `mot-b-${run}@example.com`);
  const reference = `MOT-${run}`;
  await postLoad(broker, reference);
  const load = (await call(broker, "GET", "/v1/loads?limit=50")).body.items.find((l) => l.reference === reference);
  expect((await call(broker, "POST", `/v1/loads/${load.id}/status`, { event: "cover", booking: { carrier_org_id: carrierOrg } })).status).toBe(200);
  const pickup = load.stops[0].location;

  // Settings: connect Motive with the webhook's shared secret; the URL to give Motive.
  const secret = `motive-shared-${run}-secret`;
  await carrier.getByRole("link", { name: "Settings" }).click();
  await expect(carrier.getByRole("heading", { name: "Tracking integrations" })).toBeVisible();
  await expect(carrier.locator("#motive-status")).toContainText("not connected");
  await carrier.getByLabel("Motive webhook shared secret").fill(secret);
  await carrier.getByRole("button", { name: "Connect Motive" }).click();
  await expect(carrier.locator("#motive-status")).toContainText(`/v1/tracking/providers/motive/${carrierOrg}`);
  await accessible(carrier, "the carrier's settings");

  // The load's tracking page: the carrier names its truck.
  await carrier.goto(`/#/load/${load.id}/tracking`);
  await expect(carrier.getByRole("heading", { name: `Tracking · ${reference}` })).toBeVisible({ timeout: 15_000 });
  await expect(carrier.locator("#tracking-truck")).toContainText("No ELD truck");
  await carrier.getByLabel("Motive vehicle id").fill("22");
  await carrier.getByRole("button", { name: "Track this truck" }).click();
  await expect(carrier.locator("#tracking-truck")).toContainText("Motive vehicle 22");
  await accessible(carrier, "a load's tracking with its truck");

  // Motive posts the truck's position at the pickup, signed; a forged one is refused.
  const body = JSON.stringify({ action: "vehicle_location_updated", id: 1, located_at: new Date(Date.now() - 60_000).toISOString(), lat: pickup.lat + 0.001, lon: pickup.lon, vehicle_id: 22, vehicle_number: "TRK-22" });
  const post = (signature) => carrier.request.post(`/v1/tracking/providers/motive/${carrierOrg}`, { headers: { "content-type": "application/json", "x-kt-webhook-signature": signature }, data: body });
  expect((await post("0".repeat(40))).status()).toBe(400);
  const ok = await post(crypto.createHmac("sha1", secret).update(body).digest("hex"));
  expect(ok.status()).toBe(200);
  expect((await ok.json()).applied[0].outcome.events).toEqual(["arrive_pickup"]);

  // The broker sees the truck at the pickup, reported by Motive.
  await broker.goto(`/#/load/${load.id}/tracking`);
  await expect(broker.locator("#tracking-status")).toContainText("at the stop", { timeout: 15_000 });
  await expect(broker.locator("#tracking-truck")).toContainText("Motive vehicle 22");
  await expect(broker.locator("#positions tbody tr").first()).toContainText("motive");
  await expect(broker.getByLabel("Motive vehicle id")).toHaveCount(0);

  for (const ctx of [carrierCtx, brokerCtx]) await ctx.close();
});
