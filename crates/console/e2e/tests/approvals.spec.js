// Dual control in the console: the owner turns it on, an adjustment then waits for a
// second person (the owner can only withdraw it), the accountant's rejection without a
// reason is refused next to the field, the approval records the entry, and the controls
// report downloads with both people in it.
const fs = require("node:fs");
const { test, expect } = require("@playwright/test");
const { PASSWORD, run, accessible, signUp, linkFromMail, call } = require("./helpers");

test("an adjustment under dual control waits for a second person, who approves it", async ({ browser }) => {
  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  await signUp(owner, "broker", `dc-owner-${run}@example.com`);
  const invited = await call(owner, "POST", "/v1/org/invitations", { email: `dc-acct-${run}@example.com`, role: "accountant" });
  expect(invited.status).toBe(201);
  const accountantContext = await browser.newContext({ acceptDownloads: true });
  const accountant = await accountantContext.newPage();
  await accountant.goto(await linkFromMail(`dc-acct-${run}@example.com`, "invited to join"));
  await accountant.getByLabel("Your name").fill("Ada Counts");
  await accountant.getByLabel("Choose a password (12 characters or more)").fill(PASSWORD);
  await accountant.getByLabel(/I accept the Terms of Service/).check();
  await accountant.getByRole("button", { name: "Join" }).click();
  await expect(accountant.getByRole("heading", { name: "Load board" })).toBeVisible();

  // The owner turns dual control on.
  await owner.getByRole("link", { name: "Approvals" }).click();
  await expect(owner.getByRole("heading", { name: "Approvals", exact: true })).toBeVisible();
  await accessible(owner, "approvals, off");
  await owner.getByRole("button", { name: "Turn dual control on" }).click();
  await expect(owner.locator("#toast")).toContainText("Dual control is on");
  await expect(owner.getByRole("button", { name: "Ask to turn dual control off" })).toBeVisible();

  // An adjustment now waits; the ledger does not move.
  await owner.getByRole("link", { name: "Ledger", exact: true }).click();
  const form = owner.getByRole("form", { name: "Record an adjustment" });
  await form.getByLabel("Debit account").fill("expense:bad_debt");
  await form.getByLabel("Credit account").fill("receivable:shipper:acme");
  await form.getByLabel("Amount ($)").fill("321.09");
  await form.getByRole("button", { name: "Record" }).click();
  await expect(owner.locator("#toast")).toContainText("waits for a second person's approval");
  await expect(owner.locator("#balances")).toHaveCount(0);

  // The person who asked can only withdraw.
  await owner.getByRole("link", { name: "Approvals" }).click();
  const mine = owner.locator("#open-approvals").getByRole("row", { name: /Ledger entry ADJ-/ });
  await expect(mine).toContainText("321.09 USD");
  await expect(mine.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await expect(mine.getByRole("button", { name: "Withdraw" })).toBeVisible();

  // The accountant: a rejection needs a reason (the server's answer shows by the field);
  // then approves, and the entry is recorded.
  await accountant.getByRole("link", { name: "Approvals" }).click();
  const theirs = accountant.locator("#open-approvals").getByRole("row", { name: /Ledger entry ADJ-/ });
  await expect(theirs).toContainText("Pat Doe");
  await theirs.getByLabel("Reason").evaluate((el) => el.removeAttribute("required"));
  await theirs.getByRole("button", { name: "Reject" }).click();
  await expect(theirs.locator(".field-error")).toContainText("say why");
  await accessible(accountant, "approvals with a request");
  await theirs.getByRole("button", { name: "Approve" }).click();
  await expect(accountant.locator("#toast")).toContainText("Approved and carried out");
  await expect(accountant.locator("#no-open")).toBeVisible();
  await expect(accountant.locator("#approval-history").getByRole("row", { name: /Ledger entry ADJ-/ })).toContainText("Ada Counts");
  await accountant.getByRole("link", { name: "Ledger", exact: true }).click();
  await expect(accountant.locator("#balances").getByRole("row", { name: /expense:bad_debt/ })).toContainText("$321.09");

  // The controls report names the request, who asked and who decided.
  await accountant.getByRole("link", { name: "Approvals" }).click();
  const downloading = accountant.waitForEvent("download");
  await accountant.getByRole("button", { name: "Download the controls report (CSV)" }).click();
  const csv = fs.readFileSync(await (await downloading).path(), "utf8");
  expect(csv).toContain("ledger_adjustment");
  expect(csv).toContain("dual_control_on");
  const me = await call(accountant, "GET", "/v1/me");
  expect(csv).toContain(me.body.user.id);
  await ownerContext.close();
  await accountantContext.close();
});
