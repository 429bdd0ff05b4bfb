// The ledger page: an owner records an adjustment (a malformed account is refused next to
// its field), and sees the balances and the journal move by exactly the amount.
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp } = require("./helpers");

test("an owner records an adjustment and sees balances and the journal", async ({ page }) => {
  await signUp(page, "broker", `ledger-${run}@example.com`);
  await page.getByRole("link", { name: "Ledger", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Ledger", exact: true })).toBeVisible();
  await accessible(page, "ledger, empty");
  const form = page.getByRole("form", { name: "Record an adjustment" });
  await form.getByLabel("Debit account").fill("Receivable!");
  await form.getByLabel("Credit account").fill("revenue");
  await form.getByLabel("Amount ($)").fill("1234.56");
  await form.getByRole("button", { name: "Record" }).click();
  await expect(form.locator(".field-error")).toContainText("lowercase words");
  await expect(form.getByLabel("Debit account")).toHaveAttribute("aria-invalid", "true");

  await form.getByLabel("Debit account").fill("receivable:shipper:acme");
  await form.getByRole("button", { name: "Record" }).click();
  const balances = page.locator("#balances");
  await expect(balances.getByRole("row", { name: /receivable:shipper:acme/ })).toContainText("$1,234.56");
  await expect(balances.getByRole("row", { name: /revenue/ })).toContainText("−$1,234.56");
  await expect(page.locator("#journal")).toContainText("adjustment");
  await accessible(page, "ledger with an entry");
});
