// The account's own pages and the ones its emails open: an invitation accepted from its
// link, a forgotten password reset from its link, two-step sign-in set up, used (with a
// recovery code) and turned off, and a team that requires it; a phone enrolled for texted
// codes and used to sign in.
const fs = require("node:fs");
const path = require("node:path");
const { test, expect } = require("@playwright/test");
const { PASSWORD, run, accessible, signUp, linkFromMail, totp } = require("./helpers");

test("an invited dispatcher joins from the email's link; the admin changes the role, and erases them once they leave", async ({ browser }) => {
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signUp(admin, "broker", `inv-admin-${run}@example.com`);
  await admin.getByRole("link", { name: "Team" }).click();
  const invite = admin.getByRole("form", { name: "Invite a member" });
  await invite.getByLabel("Email").fill(`inv-${run}@example.com`);
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await expect(admin.getByRole("table", { name: "Invitations" })).toContainText("pending");

  const link = await linkFromMail(`inv-${run}@example.com`, "invited to join");
  expect(link).toContain("/#/accept-invitation?token=");
  const newcomerContext = await browser.newContext();
  const newcomer = await newcomerContext.newPage();
  await newcomer.goto(link);
  await expect(newcomer.getByRole("heading", { name: "Join your team" })).toBeVisible();
  // The token leaves the address bar as soon as the page has read it.
  await expect(newcomer).not.toHaveURL(/token=/);
  await accessible(newcomer, "accept an invitation");
  // Bad input: the server's rules show next to their fields — a short password, and the
  // terms not accepted (the browser's own check taken off, so the server is asked).
  const terms = newcomer.getByLabel(/I accept the Terms of Service \(version 2026-11-01\)/);
  await terms.evaluate((el) => el.removeAttribute("required"));
  await newcomer.getByLabel("Your name").fill("Dee Spatcher");
  await newcomer.getByLabel("Choose a password (12 characters or more)").fill("short");
  await newcomer.getByLabel("Choose a password (12 characters or more)").evaluate((el) => el.removeAttribute("minlength"));
  await newcomer.getByRole("button", { name: "Join" }).click();
  await expect(newcomer.locator(".field-error").first()).toBeVisible();
  await expect(newcomer.getByRole("form", { name: "Join your team" })).toContainText("accept the terms of service");
  await newcomer.getByLabel("Choose a password (12 characters or more)").fill(PASSWORD);
  await terms.check();
  await newcomer.getByRole("button", { name: "Join" }).click();
  await expect(newcomer.getByRole("heading", { name: "Load board" })).toBeVisible();
  await expect(newcomer.locator("#nav")).toContainText(`inv-${run}@example.com`);

  await admin.reload();
  const members = admin.getByRole("table", { name: "Members of your organization" });
  await expect(members).toContainText("Dee Spatcher");
  await members.getByLabel("Role of Dee Spatcher").selectOption("viewer");
  await expect(admin.locator("#toast")).toContainText("Dee Spatcher is now viewer");
  await expect(admin.getByRole("table", { name: "Invitations" })).toContainText("accepted");
  await accessible(admin, "team with a member");

  // The member leaves: deactivated, then their personal data erased (after a confirmation).
  await members.getByRole("button", { name: "Deactivate Dee Spatcher" }).click();
  await expect(admin.locator("#toast")).toContainText("Dee Spatcher deactivated");
  admin.once("dialog", (d) => d.accept());
  await members.getByRole("button", { name: "Erase the personal data of Dee Spatcher" }).click();
  await expect(admin.locator("#toast")).toContainText("Dee Spatcher's personal data erased");
  await expect(members).toContainText("Erased member");
  await expect(members).not.toContainText("Dee Spatcher");
  await expect(members).not.toContainText(`inv-${run}@example.com`);
  await expect(members.getByRole("row").filter({ hasText: "Erased member" })).toContainText("erased");
  await accessible(admin, "team with an erased member");
  // Their email signs nobody in any more.
  const laterContext = await browser.newContext();
  const later = await laterContext.newPage();
  await later.goto("/#/signin");
  await later.getByLabel("Email").fill(`inv-${run}@example.com`);
  await later.getByLabel("Password").fill(PASSWORD);
  await later.getByRole("button", { name: "Sign in" }).click();
  await expect(later.getByRole("alert")).toBeVisible();
  await laterContext.close();
  await adminContext.close();
  await newcomerContext.close();
});

test("a forgotten password is reset from the emailed link", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `reset-${run}@example.com`;
  await signUp(page, "carrier", email);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await accessible(page, "forgot password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByRole("status").filter({ hasText: "is on its way" })).toBeVisible();

  const link = await linkFromMail(email, "reset the password");
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await accessible(page, "reset password");
  await page.getByLabel("New password (12 characters or more)").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  // The link works once.
  await page.goto(link);
  await page.getByLabel("New password (12 characters or more)").fill("yet another passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  // The new password signs in; the old one does not.
  await page.goto("/#/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("Password").fill("a brand new passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Load board" })).toBeVisible();
  await context.close();
});

test("two-step sign-in: set up, signed in with a recovery code, required by the team, turned off", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `mfa-${run}@example.com`;
  await signUp(page, "broker", email);
  await page.locator("#nav").getByRole("link", { name: new RegExp(email) }).click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await accessible(page, "account");
  await page.getByRole("button", { name: "Set up with an authenticator app" }).click();
  const secret = await page.locator("#totp-secret").getAttribute("data-secret");
  const confirm = page.getByRole("form", { name: "Confirm two-step sign-in" });
  // A wrong code is refused where it was typed.
  await confirm.getByLabel("The 6-digit code the app shows").fill("000000");
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(confirm.getByRole("alert")).toBeVisible();
  await confirm.getByLabel("The 6-digit code the app shows").fill(totp(secret));
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(page.locator("#recovery-codes")).toBeVisible();
  const codes = (await page.locator("#recovery-codes code").innerText()).split("\n").filter(Boolean);
  expect(codes.length).toBe(10);
  await accessible(page, "account with two-step sign-in");

  // Requiring it for the whole team (this member has it).
  await page.getByRole("link", { name: "Team" }).click();
  await page.getByLabel("Everyone must use two-step sign-in").check();
  await expect(page.locator("#toast")).toContainText("Everyone must now use two-step sign-in");

  // Signing in asks for the second factor; a recovery code stands in for the phone.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Authentication code").fill(codes[0]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Load board" })).toBeVisible();

  // Turning it off is refused while the team requires it, then allowed.
  await page.locator("#nav").getByRole("link", { name: new RegExp(email) }).click();
  const off = page.getByRole("form", { name: "Turn off two-step sign-in" });
  await off.getByLabel("Password").fill(PASSWORD);
  await off.getByLabel("Code from your app or a recovery code").fill(codes[1]);
  await off.getByRole("button", { name: "Turn off two-step sign-in" }).click();
  await expect(off.getByRole("alert")).toContainText(/requires MFA/i);
  await page.getByRole("link", { name: "Team" }).click();
  await page.getByLabel("Everyone must use two-step sign-in").uncheck();
  await expect(page.locator("#toast")).toContainText("each member's choice");
  await page.locator("#nav").getByRole("link", { name: new RegExp(email) }).click();
  const again = page.getByRole("form", { name: "Turn off two-step sign-in" });
  await again.getByLabel("Password").fill(PASSWORD);
  await again.getByLabel("Code from your app or a recovery code").fill(codes[2]);
  await again.getByRole("button", { name: "Turn off two-step sign-in" }).click();
  await expect(page.getByRole("button", { name: "Set up with an authenticator app" })).toBeVisible();
  await context.close();
});

test("two-step sign-in by text message: a phone enrolled, a texted code signs in, an app added beside it", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `sms-${run}@example.com`;
  // Embedded defaults spool texts and Verify codes as files beside the mail spool.
  const codeFile = path.join(path.dirname(process.env.LANERUNNER_MAIL_DIR), "sms", "verify-14155550142.txt");
  const textedCode = async () => {
    await expect.poll(() => fs.existsSync(codeFile), { timeout: 10_000 }).toBe(true);
    return fs.readFileSync(codeFile, "utf8").trim();
  };
  await signUp(page, "carrier", email);
  await page.locator("#nav").getByRole("link", { name: new RegExp(email) }).click();
  await page.getByRole("button", { name: "Set up with text messages" }).click();
  const phone = page.getByRole("form", { name: "Your mobile number" });
  await phone.getByLabel("Mobile number").fill("555");
  await phone.getByRole("button", { name: "Text me a code" }).click();
  await expect(phone.getByRole("alert")).toBeVisible();
  await phone.getByLabel("Mobile number").fill("(415) 555-0142");
  await phone.getByRole("button", { name: "Text me a code" }).click();
  const confirm = page.getByRole("form", { name: "Confirm your phone" });
  await expect(confirm).toContainText("•••0142");
  await confirm.getByLabel("The code in the text").fill(await textedCode());
  await confirm.getByRole("button", { name: "Turn on" }).click();
  await expect(page.locator("#recovery-codes")).toBeVisible();
  await expect(page.getByText("a code texted to •••0142")).toBeVisible();
  await accessible(page, "account with a phone enrolled");

  // Signing in: the password, then a texted code.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Text me a code" }).click();
  await expect(page.getByRole("button", { name: "Code sent: text me another" })).toBeVisible();
  await page.getByLabel("Authentication code").fill(await textedCode());
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Load board" })).toBeVisible();

  // An authenticator app beside the phone: the recovery codes stay as they were.
  await page.locator("#nav").getByRole("link", { name: new RegExp(email) }).click();
  await page.getByRole("button", { name: "Add an authenticator app" }).click();
  const secret = await page.locator("#totp-secret").getAttribute("data-secret");
  const app = page.getByRole("form", { name: "Confirm two-step sign-in" });
  await app.getByLabel("The 6-digit code the app shows").fill(totp(secret));
  await app.getByRole("button", { name: "Turn on" }).click();
  await expect(page.locator("#toast")).toContainText("recovery codes are unchanged");
  await expect(page.getByText("a code from your authenticator app or a code texted to •••0142")).toBeVisible();
  await context.close();
});

test("the team's allowed networks: a list that would shut the admin out is refused; an API key's own list shows", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, "broker", `allow-${run}@example.com`);
  await page.getByRole("link", { name: "Team" }).click();
  const allow = page.getByRole("form", { name: "Allowed networks" });
  // Bad input: a malformed entry, then a list without this browser's own address.
  await allow.getByLabel("Networks allowed").fill("203.0.113.0/33");
  await allow.getByRole("button", { name: "Save networks" }).click();
  await expect(allow.locator(".field-error")).toContainText("203.0.113.0/33");
  await allow.getByLabel("Networks allowed").fill("203.0.113.0/24");
  await allow.getByRole("button", { name: "Save networks" }).click();
  await expect(allow.locator(".field-error")).toContainText("own address 127.0.0.1");
  // The browser's own network: saved, shown in canonical form, and the console keeps working.
  await allow.getByLabel("Networks allowed").fill("127.0.0.1\n10.0.0.0/8");
  await allow.getByRole("button", { name: "Save networks" }).click();
  await expect(page.locator("#toast")).toContainText("only from 2 network(s)");
  await expect(page.getByRole("form", { name: "Allowed networks" }).getByLabel("Networks allowed")).toHaveValue("127.0.0.1/32\n10.0.0.0/8");
  // An API key limited to one address.
  const key = page.getByRole("form", { name: "Create an API key" });
  await key.getByLabel("Name").fill("Yard scanner");
  await key.getByLabel("Allowed networks").fill("10.1.2.3");
  await key.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("table", { name: "API keys" })).toContainText("10.1.2.3/32");
  await accessible(page, "team with allowed networks");
  // Emptied again: any network.
  await page.getByRole("form", { name: "Allowed networks" }).getByLabel("Networks allowed").fill("");
  await page.getByRole("form", { name: "Allowed networks" }).getByRole("button", { name: "Save networks" }).click();
  await expect(page.locator("#toast")).toContainText("from any network");
  await context.close();
});

test("your data: the terms accepted at sign-up, marketing given and withdrawn; the download holds it", async ({ browser }) => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await signUp(page, "broker", `gdpr-${run}@example.com`);
  await page.goto("/#/account");
  const consents = page.getByRole("table", { name: "What you agreed to" });
  // Accepted on the sign-up form, recorded with their versions.
  await expect(consents.getByRole("row", { name: /terms of service/ })).toContainText("Agreed (2026-11-01)");
  await expect(consents.getByRole("row", { name: /privacy notice/i })).toContainText("Agreed (2026-11-01)");
  const marketing = consents.getByRole("row", { name: /Product news/ });
  await marketing.getByRole("button", { name: /Agree to/ }).click();
  await expect(marketing.getByRole("button", { name: "Withdraw" })).toBeVisible();
  await marketing.getByRole("button", { name: "Withdraw" }).click();
  await expect(page.locator("#toast")).toContainText("Consent withdrawn");
  await expect(marketing).toContainText("Withdrawn on");
  await accessible(page, "account with consents");
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download my data (JSON)" }).click();
  const doc = JSON.parse(fs.readFileSync(await (await downloading).path(), "utf8"));
  expect(doc.subject.email).toBe(`gdpr-${run}@example.com`);
  expect(doc.consents.map((c) => `${c.purpose}:${c.granted}`)).toEqual(["terms:true", "privacy_notice:true", "marketing_email:true", "marketing_email:false"]);
  expect(doc.held_by).toContain("notifications");
  await context.close();
});
