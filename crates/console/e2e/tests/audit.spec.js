// The audit trail in the browser: an owner finds their sign-up and a failed sign-in
// recorded, chained, and the chain verified intact; after a record is changed behind the
// database's back (the test edits the SQLite file as an intruder with the file would), the
// page says the chain is broken, and at which record. The access controls report downloads
// with the period's changes to access, and not the sign-ins.
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");
const path = require("node:path");
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp, call } = require("./helpers");

/** Changes the first record of the organization's chain in the server's SQLite file. */
function tamper(orgId) {
  const script = `
import sqlite3, sys, uuid
c = sqlite3.connect(sys.argv[1], timeout=30)
trigger = c.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_events_no_update'").fetchone()[0]
c.execute("DROP TRIGGER audit_events_no_update")
n = c.execute("UPDATE audit_events SET client_addr = '203.0.113.9' "
              "WHERE id = (SELECT record_id FROM audit_links WHERE chain_id = ? AND seq = 1)",
              (uuid.UUID(sys.argv[2]).bytes,)).rowcount
c.execute(trigger)
c.commit()
print(n)
`;
  const db = path.join(process.env.E2E_DATA_DIR, "identity.db");
  return execFileSync("python3", ["-c", script, db, orgId]).toString().trim();
}

test("an owner sees the audit trail verified, and broken after tampering", async ({ page }) => {
  const email = `audit-${run}@example.com`;
  await signUp(page, "broker", email);
  const failed = await call(page, "POST", "/v1/auth/login", { email, password: "not the password at all" });
  expect(failed.status).toBe(401);

  await page.getByRole("link", { name: "Audit trail" }).click();
  await expect(page.getByRole("heading", { name: "Audit trail" })).toBeVisible();
  await expect(page.locator("#audit-verdict")).toContainText("Chain intact");
  const rows = page.locator("#audit-events tbody tr");
  await expect(rows.filter({ hasText: "signup" })).toHaveCount(1);
  await expect(rows.filter({ hasText: "login" }).filter({ hasText: "failure" })).toHaveCount(1);
  await accessible(page, "audit trail");

  const key = await call(page, "POST", "/v1/org/api-keys", { name: "E2E report key", scopes: ["identity:read"] });
  expect(key.status).toBe(201);
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download the access report (CSV)" }).click();
  const csv = fs.readFileSync(await (await downloading).path(), "utf8");
  expect(csv.split("\n")[0]).toContain("occurred_at,action,outcome,actor_id,actor");
  expect(csv).toContain("api_key_created");
  expect(csv).toContain(key.body.key.id);
  expect(csv).toContain(email);
  expect(csv).not.toContain(",login,");

  const org = await call(page, "GET", "/v1/org");
  expect(tamper(org.body.id)).toBe("1");
  await page.reload();
  await expect(page.locator("#audit-verdict")).toContainText("The audit chain is broken");
  await expect(page.locator("#audit-verdict")).toContainText("#1: changed after it was written");
  await expect(rows.filter({ hasText: "203.0.113.9" })).toHaveCount(1);
  await accessible(page, "broken audit trail");
});
