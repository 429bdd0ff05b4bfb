// Webhooks in the browser: a broker adds an endpoint for its TMS (a receiver on loopback
// that checks each delivery's Standard Webhooks signature and fails its first request),
// sees the secret once, sends a test that succeeds on the retry, posts a load and finds the
// posting delivered in the log with its attempts; a bad URL is refused next to its field;
// rotating the secret keeps the old one signing; disabling stops deliveries.
const http = require("node:http");
const crypto = require("node:crypto");
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, postLoad } = require("./helpers");

/** A receiver that verifies signatures with the secrets it holds; answers 500 first. */
function receiver() {
  const got = [];
  const state = { secrets: [], failFirst: 1 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const id = req.headers["webhook-id"];
      const ts = req.headers["webhook-timestamp"];
      const signed = `${id}.${ts}.${body}`;
      const given = String(req.headers["webhook-signature"] || "").split(" ").map((s) => s.replace(/^v1,/, ""));
      const verified = state.secrets.some((s) => {
        const key = Buffer.from(s.replace(/^whsec_/, ""), "base64");
        return given.includes(crypto.createHmac("sha256", key).update(signed).digest("base64"));
      });
      const status = !verified ? 401 : state.failFirst-- > 0 ? 500 : 200;
      got.push({ id, type: JSON.parse(body).type, verified, status, signatures: given.length });
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, got, state, url: `http://127.0.0.1:${server.address().port}/hooks` })));
}

test("a broker's TMS hears its loads through a signed, retried, logged webhook", async ({ page }) => {
  test.setTimeout(120_000);
  const tms = await receiver();
  try {
    await signUp(page, "broker", `wh-${run}@example.com`);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("heading", { name: "Webhooks" })).toBeVisible();
    await expect(page.getByText("No endpoints yet.")).toBeVisible();
    await accessible(page, "webhooks");

    // A URL that is not one is refused next to its field.
    const form = page.getByRole("form", { name: "Add an endpoint" });
    await form.getByLabel("Endpoint URL").fill("ftp://tms.example.com/hooks");
    await form.getByRole("button", { name: "Add endpoint" }).click();
    await expect(form.locator(".field-error")).toContainText("http or https");

    await form.getByLabel("Endpoint URL").fill(tms.url);
    await form.getByLabel("Description").fill("Our TMS");
    await form.getByLabel(/^load\.posted\.v1/).check();
    await form.getByRole("button", { name: "Add endpoint" }).click();
    const secret = await page.getByLabel("Signing secret").inputValue();
    expect(secret).toMatch(/^whsec_/);
    tms.state.secrets = [secret];
    await expect(page.getByRole("row", { name: /Our TMS/ })).toContainText("load.posted.v1");

    // The test fails once at the receiver, then is delivered on the retry.
    await page.getByRole("link", { name: tms.url }).click();
    await expect(page.getByRole("heading", { name: `Webhook · ${tms.url}` })).toBeVisible();
    await page.getByRole("button", { name: "Send a test" }).click();
    await expect(async () => {
      await page.getByRole("button", { name: "all", exact: true }).click();
      await expect(page.getByRole("row", { name: /webhook\.test\.v1/ })).toContainText("delivered", { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await page.getByRole("row", { name: /webhook\.test\.v1/ }).getByRole("button", { name: "Attempts" }).click();
    const attempts = page.locator("#delivery-detail table");
    await expect(attempts.getByRole("row")).toHaveCount(3);
    await expect(attempts).toContainText("HTTP 500");
    await accessible(page, "webhook endpoint");
    expect(tms.got.map((g) => g.status)).toEqual([500, 200]);
    expect(new Set(tms.got.map((g) => g.id)).size).toBe(1);

    // A posted load reaches the TMS, signed; the log shows it delivered.
    const reference = `WH-${run}`;
    await postLoad(page, reference);
    await expect.poll(() => tms.got.filter((g) => g.type === "load.posted.v1" && g.status === 200).length, { timeout: 20_000 }).toBe(1);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("link", { name: tms.url }).click();
    await expect(page.getByRole("row", { name: /load\.posted\.v1/ })).toContainText("delivered");

    // Rotating: the new secret shown, the old one still signing beside it.
    await page.getByRole("form", { name: "Rotate the secret" }).getByRole("button", { name: "Rotate the secret" }).click();
    const rotated = await page.getByLabel("Signing secret").inputValue();
    expect(rotated).not.toBe(secret);
    await expect(page.getByText(/Previous secret/)).toBeVisible();
    await page.getByRole("button", { name: "Send a test" }).click();
    await expect.poll(() => tms.got.length, { timeout: 20_000 }).toBe(4);
    expect(tms.got[3]).toMatchObject({ verified: true, status: 200, signatures: 2 });

    // Disabled, it hears nothing more.
    await page.getByRole("button", { name: "Disable" }).click();
    await expect(page.locator("#endpoint-state")).toHaveText("disabled");
    await postLoad(page, `${reference}-2`);
    await page.waitForTimeout(1500);
    expect(tms.got.length).toBe(4);
  } finally {
    tms.server.close();
  }
});
