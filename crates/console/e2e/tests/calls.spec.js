// The call desk in the browser: a broker adds a line (a number that is not E.164 is refused
// next to its field), plays a carrier on a test call — an MC number nobody holds ends the
// call as not eligible; asking for a person goes to the desk's number — and finds both
// calls in the list with their outcomes, summaries and transcripts.
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp } = require("./helpers");

test("a broker sets up a line and reads the agent's calls", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "broker", `desk-${run}@example.com`);
  await page.getByRole("link", { name: "Calls", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Calls", exact: true })).toBeVisible();
  await expect(page.getByText("No lines yet.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Start a test call" })).toBeDisabled();
  await accessible(page, "calls");

  const form = page.getByRole("form", { name: "Add a line" });
  const line = `+1415${String(Date.now() % 10_000_000).padStart(7, "0")}`;
  await form.getByLabel("Phone number (E.164)").fill("555-0100");
  await form.getByLabel("Company name the agent answers with").fill("Acme Logistics");
  await form.getByRole("button", { name: "Save line" }).click();
  await expect(form.locator(".field-error")).toContainText("E.164");

  await form.getByLabel("Phone number (E.164)").fill(line);
  await form.getByLabel("Transfer calls to (E.164, optional)").fill("+14155550199");
  await form.getByRole("button", { name: "Save line" }).click();
  await expect(page.getByRole("row", { name: new RegExp(line.replace("+", "\\+")) })).toContainText("Acme Logistics");

  // An MC number nobody holds: the agent says so and the call ends.
  await page.getByRole("button", { name: "Start a test call" }).click();
  const transcript = page.locator("#test-call");
  await expect(transcript).toContainText("Thanks for calling Acme Logistics");
  await expect(transcript).toContainText("recorded and transcribed");
  const call = page.getByRole("form", { name: "Test call" });
  await call.getByLabel("Keys pressed (optional)").fill("7654321");
  await call.getByRole("button", { name: "Say" }).click();
  await expect(transcript).toContainText("can't find MC 7654321");
  await expect(page.getByRole("link", { name: "See the call" })).toBeVisible();
  await accessible(page, "test call");

  // Keys that are not keys are refused next to their field. (The new call has begun when
  // its transcript holds the greeting alone.)
  await page.getByRole("button", { name: "Start a test call" }).click();
  await expect(transcript.locator("li")).toHaveCount(1);
  await call.getByLabel("Keys pressed (optional)").fill("12ab");
  await call.getByRole("button", { name: "Say" }).click();
  await expect(call.locator(".field-error")).toContainText("keypad");
  await call.getByLabel("Keys pressed (optional)").fill("");
  await call.getByLabel("Caller says").fill("can I talk to a real person");
  await call.getByRole("button", { name: "Say" }).click();
  await expect(transcript).toContainText("transferred to +14155550199");

  // Both calls, newest first, with outcomes and summaries (the page, opened afresh).
  await page.reload();
  const rows = page.locator("#calls tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("Transferred");
  await expect(rows.nth(1)).toContainText("Not eligible");
  await expect(rows.nth(1)).toContainText("MC 7654321");
  await rows.nth(1).getByRole("link").click();
  await expect(page.locator("#call-outcome")).toHaveText("Not eligible");
  await expect(page.locator("#transcript")).toContainText("[keyed 7654321]");
  await expect(page.getByText(/MC 7654321 called\. Not eligible to book\./)).toBeVisible();
  await accessible(page, "call");
});
