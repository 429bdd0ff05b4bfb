// A broker posts a load; a carrier, in another browser context, finds it on the board and
// on the map, and sees the next one arrive live. Every page passes axe-core with no serious
// violation; a card number typed into a field is refused next to it; bad input shows every
// field's message at once; an expired session signs in again without losing the form.
const { test, expect } = require("@playwright/test");
const { PASSWORD, run, accessible, signUp, postLoad } = require("./helpers");

test("a broker posts, a carrier finds it on the board and the map, live", async ({ browser }) => {
  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `broker-${run}@example.com`);

  // A card number typed into any field is refused by the API, and the message is shown
  // next to that field; nothing posted.
  await broker.getByRole("link", { name: "Post a load" }).first().click();
  await accessible(broker, "post a load");
  await broker.getByLabel("Reference").fill(`BAD-${run}`);
  await broker.getByLabel("Commodity").fill("paper, lumper card 4111 1111 1111 1111");
  await broker.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill("Dallas, TX");
  await broker.getByRole("group", { name: /Delivery/ }).getByLabel("Place").fill("Atlanta, GA");
  await broker.getByRole("button", { name: "Post to the board" }).click();
  await expect(broker.getByRole("alert")).toBeVisible();
  await expect(broker.getByLabel("Commodity")).toHaveAttribute("aria-invalid", "true");
  await expect(broker.locator(".field-error")).toContainText("must not contain a card number");

  // Bad input: every field's message at once, next to its field; nothing posted.
  await broker.getByLabel("Commodity").fill("paper");
  await broker.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill("Nowhereville, ZZ");
  await broker.getByRole("group", { name: /Delivery/ }).getByLabel("Place").fill("Atlantis, QQ");
  await broker.getByRole("button", { name: "Post to the board" }).click();
  await expect(broker.getByRole("alert")).toBeVisible();
  await expect(broker.locator(".field-error")).toHaveCount(2);
  await expect(broker.getByRole("group", { name: /Pickup/ }).getByLabel("Place")).toHaveAttribute("aria-invalid", "true");

  // Places are suggested as they are typed.
  await broker.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill("Dall");
  await expect(broker.locator('datalist option[value="Dallas, TX"]')).toHaveCount(1);

  await postLoad(broker, `LR-${run}-1`);
  await accessible(broker, "my loads");

  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `carrier-${run}@example.com`);
  await accessible(carrier, "load board");
  await carrier.getByLabel("Origin").fill("Fort Worth, TX");
  await carrier.getByRole("button", { name: "Search", exact: true }).click();
  const rows = carrier.locator("tbody tr");
  await expect(rows.filter({ hasText: "Dallas, TX" })).toHaveCount(1);
  await expect(rows.first()).toContainText("Atlanta, GA");
  await expect(carrier.locator("#map")).toHaveAttribute("data-markers", "1");
  await accessible(carrier, "load board with results");

  // Sorting by a column says so to assistive technology.
  await carrier.getByRole("button", { name: "$/mile" }).click();
  await expect(carrier.getByRole("columnheader", { name: "$/mile" })).toHaveAttribute("aria-sort", "ascending");

  // The carrier keeps this search; a new load that matches raises an alert.
  const save = carrier.getByRole("form", { name: "Save this search" });
  await save.getByLabel("Name this search").fill("Fort Worth vans");
  await save.getByRole("button", { name: "Save search" }).click();
  await expect(carrier.getByRole("button", { name: "Run “Fort Worth vans”" })).toBeVisible();

  // The broker posts another: it reaches the carrier's board without a reload.
  await postLoad(broker, `LR-${run}-2`, "Fort Worth, TX");
  await expect(carrier.getByRole("list", { name: "Alerts" })).toContainText("New load for “Fort Worth vans”");
  await expect(rows).toHaveCount(2);
  await expect(carrier.locator("tbody tr.fresh")).toHaveCount(1);
  await expect(carrier.locator("#map")).toHaveAttribute("data-markers", "2");

  // A session that ended: the form is kept, signing in again finishes the post.
  await broker.getByRole("link", { name: "Post a load" }).first().click();
  await broker.getByLabel("Reference").fill(`LR-${run}-3`);
  await broker.getByLabel("Commodity").fill("cardboard");
  await broker.getByRole("group", { name: /Pickup/ }).getByLabel("Place").fill("Dallas, TX");
  await broker.getByRole("group", { name: /Delivery/ }).getByLabel("Place").fill("Atlanta, GA");
  await broker.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("lanerunner.session"));
    sessionStorage.setItem("lanerunner.session", JSON.stringify({ ...s, access: "expired", refresh: "expired" }));
  });
  await broker.getByRole("button", { name: "Post to the board" }).click();
  const dialog = broker.getByRole("dialog", { name: "Your session has ended" });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign in" }).click();
  await expect(broker.getByRole("heading", { name: "My loads" })).toBeVisible();
  await expect(broker.getByRole("row", { name: new RegExp(`LR-${run}-3`) })).toContainText("posted");

  await brokerContext.close();
  await carrierContext.close();
});

test("a wrong password is a readable message, and the sign-in page is accessible", async ({ page }) => {
  await page.goto("/#/signin");
  await accessible(page, "sign-in");
  await page.getByLabel("Email").fill(`nobody-${run}@example.com`);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText(/./);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("a carrier and a broker negotiate a load to a booking in the thread", async ({ browser }) => {
  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `nb-${run}@example.com`);
  await postLoad(broker, `NG-${run}`);

  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `nc-${run}@example.com`);
  await carrier.getByLabel("Origin").fill("Dallas, TX");
  await carrier.getByRole("button", { name: "Search", exact: true }).click();
  await carrier.locator("tbody tr").filter({ hasText: "Atlanta, GA" }).first().getByRole("link").click();
  await expect(carrier.getByRole("heading", { name: "Dallas, TX → Atlanta, GA" })).toBeVisible();
  await accessible(carrier, "a load, before an offer");
  // Words the parser cannot read are asked back, next to the field; nothing is sent.
  const offer = carrier.getByRole("form", { name: "Make an offer" });
  await offer.getByLabel("Your offer").fill("what's the weight?");
  await offer.getByRole("button", { name: "Send offer" }).click();
  await expect(offer.getByRole("alert")).toBeVisible();
  await offer.getByLabel("Your offer").fill("can you do 2600?");
  await offer.getByRole("button", { name: "Send offer" }).click();
  const carrierThread = carrier.locator("section.negotiation");
  await expect(carrierThread).toContainText("“can you do 2600?” — offered $2,600");

  // The broker sees the offer on its load and counters in words.
  await broker.getByRole("link", { name: `NG-${run}` }).click();
  const brokerThread = broker.locator("section.negotiation");
  await expect(brokerThread).toContainText("offered $2,600");
  await accessible(broker, "a load with a negotiation");
  await brokerThread.getByLabel("Your answer").fill("best I can do is 2,500");
  await brokerThread.getByRole("button", { name: "Send" }).click();

  // The carrier's thread follows live; it accepts, and the load is booked.
  await expect(carrierThread).toContainText("offered $2,500");
  await carrierThread.getByRole("button", { name: "Accept" }).click();
  await expect(carrierThread).toContainText("agreed at $2,500");
  await expect(brokerThread).toContainText("agreed at $2,500");
  await broker.getByRole("link", { name: "My loads" }).click();
  await expect(broker.getByRole("row", { name: new RegExp(`NG-${run}`) })).toContainText("covered");

  // They talk about it: the conversation holds the negotiation's moves beside the words,
  // shows unread counts, and tells the carrier when the broker has read it.
  await carrier.getByRole("button", { name: "Message the broker" }).click();
  await expect(carrier.getByRole("heading", { name: "Dallas, TX → Atlanta, GA" })).toBeVisible();
  await expect(carrier.locator("ol.thread")).toContainText("[agreed $2,500]");
  await carrier.getByRole("textbox", { name: "Message" }).fill("Driver is Sam, truck 42.");
  await carrier.getByRole("button", { name: "Send" }).click();
  await expect(carrier.locator("ol.thread")).toContainText("You: Driver is Sam, truck 42.");
  await broker.getByRole("link", { name: "Messages" }).click();
  await expect(broker.locator("ul.conversations .badge")).toBeVisible();
  await accessible(broker, "messages");
  await broker.getByRole("link", { name: "Dallas, TX → Atlanta, GA" }).click();
  await expect(broker.locator("ol.thread")).toContainText("Them: Driver is Sam, truck 42.");
  await accessible(broker, "a conversation");
  await expect(carrier.locator("#receipts")).toContainText("Read by others");
  await broker.getByRole("textbox", { name: "Message" }).fill("Thanks, rate con is on its way.");
  await broker.getByRole("button", { name: "Send" }).click();
  await expect(carrier.locator("ol.thread")).toContainText("Them: Thanks, rate con is on its way.");
  // An empty message is refused where it was typed.
  await broker.getByRole("textbox", { name: "Message" }).fill("   ");
  await broker.getByRole("button", { name: "Send" }).click();
  await expect(broker.getByRole("form", { name: "Write a message" }).getByRole("alert")).toBeVisible();

  await brokerContext.close();
  await carrierContext.close();
});

test("a carrier declares its authority and a broker sets who may book", async ({ browser }) => {
  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `vc-${run}@example.com`);
  await carrier.getByRole("link", { name: "Settings" }).click();
  await accessible(carrier, "carrier settings");
  const form = carrier.getByRole("form", { name: "Operating authority" });
  // A lapsed certificate is refused next to its field.
  await form.getByLabel("USDOT number").fill(String(2_000_000 + (Date.now() % 7_000_000)));
  await form.getByLabel("Insurance certificate expires").fill("2020-01-31");
  await form.getByRole("button", { name: "Save and check" }).click();
  await expect(form.locator(".field-error")).toContainText("has passed");
  await form.getByLabel("Insurance certificate expires").fill("2099-06-30");
  await form.getByRole("button", { name: "Save and check" }).click();
  // Embedded, there is no registry: the carrier's word stands, unverified.
  await expect(carrier.locator("#standing")).toContainText("Standing: unverified");
  await expect(carrier.locator("#standing")).toContainText("self-declared");

  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `vb-${run}@example.com`);
  await broker.getByRole("link", { name: "Settings" }).click();
  await accessible(broker, "broker settings");
  const policy = broker.getByRole("form", { name: "Vetting policy" });
  await expect(policy.getByLabel(/self-declared/)).toBeChecked();
  await policy.getByLabel(/self-declared/).uncheck();
  await policy.getByRole("button", { name: "Save" }).click();
  await expect(broker.getByRole("status")).toContainText("saved");
  await broker.reload();
  await expect(broker.getByRole("form", { name: "Vetting policy" }).getByLabel(/self-declared/)).not.toBeChecked();
  await postLoad(broker, `VT-${run}`);

  // The unverified carrier is refused with the reason, where it offered.
  await carrier.getByRole("link", { name: "Load board" }).click();
  await carrier.getByLabel("Origin").fill("Dallas, TX");
  await carrier.getByRole("button", { name: "Search", exact: true }).click();
  await carrier.locator("tbody tr").filter({ hasText: "Atlanta, GA" }).first().getByRole("link").click();
  const offer = carrier.getByRole("form", { name: "Make an offer" });
  await offer.getByLabel("Your offer").fill("2600");
  await offer.getByRole("button", { name: "Send offer" }).click();
  await expect(offer.getByRole("alert")).toContainText("only FMCSA-verified carriers");

  await brokerContext.close();
  await carrierContext.close();
});

test("a carrier posts a truck and sees its matched loads; the broker sees the truck on its load", async ({ browser }) => {
  const brokerContext = await browser.newContext();
  const broker = await brokerContext.newPage();
  await signUp(broker, "broker", `tb-${run}@example.com`);
  await postLoad(broker, `TR-${run}`);

  const carrierContext = await browser.newContext();
  const carrier = await carrierContext.newPage();
  await signUp(carrier, "carrier", `tc-${run}@example.com`);
  await carrier.getByRole("link", { name: "My trucks" }).click();
  await accessible(carrier, "my trucks");
  const form = carrier.getByRole("form", { name: "Post a truck" });
  await form.getByLabel("Available at").fill("Nowhereville, ZZ");
  await form.getByRole("button", { name: "Post truck" }).click();
  await expect(form.locator(".field-error")).toBeVisible();
  await form.getByLabel("Available at").fill("Fort Worth, TX");
  await form.getByRole("button", { name: "Post truck" }).click();
  await expect(carrier.getByRole("heading", { name: "V truck at Fort Worth, TX" })).toBeVisible();
  const matched = carrier.getByRole("table", { name: "Matched loads, best first" });
  await expect(matched.getByRole("link", { name: "Dallas, TX → Atlanta, GA" }).first()).toBeVisible();
  await accessible(carrier, "a truck and its matches");

  await broker.getByRole("link", { name: `TR-${run}` }).click();
  const trucks = broker.getByRole("region", { name: "Matched trucks" });
  await expect(trucks).toContainText("Fort Worth, TX");
  await accessible(broker, "a load with its matched trucks");

  await brokerContext.close();
  await carrierContext.close();
});

test("two tabs editing one load: the second save sees the conflict and resolves it", async ({ browser }) => {
  const context = await browser.newContext();
  const first = await context.newPage();
  await signUp(first, "broker", `ed-${run}@example.com`);
  await postLoad(first, `ED-${run}`);
  await first.getByRole("link", { name: `ED-${run}`, exact: true }).click();
  await first.getByRole("link", { name: "Edit this load" }).click();
  await expect(first.getByRole("heading", { name: `Edit ED-${run}` })).toBeVisible();
  await accessible(first, "edit a load");
  const editUrl = first.url();

  // A second tab (its own session: tokens live in the tab), opened on the same version.
  const second = await context.newPage();
  await second.goto("/#/signin");
  await second.getByLabel("Email").fill(`ed-${run}@example.com`);
  await second.getByLabel("Password").fill(PASSWORD);
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("heading", { name: "Load board" })).toBeVisible();
  await second.goto(editUrl);
  await expect(second.getByRole("heading", { name: `Edit ED-${run}` })).toBeVisible();

  await second.getByLabel("Commodity").fill("steel coils");
  await second.getByRole("button", { name: "Save changes" }).click();
  await expect(second.getByRole("heading", { name: "Dallas, TX → Atlanta, GA" })).toBeVisible();

  // The first tab saves on the version it read: the conflict is shown, its input kept.
  await first.getByLabel("Commodity").fill("glass");
  await first.getByRole("button", { name: "Save changes" }).click();
  const conflict = first.getByRole("alert").filter({ hasText: "changed since you opened it" });
  await expect(conflict).toBeVisible();
  await expect(first.getByLabel("Commodity")).toHaveValue("glass");
  await conflict.getByRole("button", { name: "Discard mine and load theirs" }).click();
  await expect(first.getByLabel("Commodity")).toHaveValue("steel coils");

  // Another save in the second tab; the first then saves its own over it, knowingly.
  await second.getByRole("link", { name: "Edit this load" }).click();
  await second.getByLabel("Weight (lb)").fill("40000");
  await second.getByRole("button", { name: "Save changes" }).click();
  await expect(second.getByRole("heading", { name: "Dallas, TX → Atlanta, GA" })).toBeVisible();
  await first.getByLabel("Commodity").fill("glass");
  await first.getByRole("button", { name: "Save changes" }).click();
  await first.getByRole("alert").filter({ hasText: "changed since you opened it" }).getByRole("button", { name: "Save mine over theirs" }).click();
  await expect(first.getByRole("heading", { name: "Dallas, TX → Atlanta, GA" })).toBeVisible();
  await first.reload();
  await expect(first.locator("dl.facts")).toContainText("42,000 lb");
  await context.close();
});

test("the team page: members, an invitation, an API key shown once and revoked", async ({ page }) => {
  await signUp(page, "broker", `tm-${run}@example.com`);
  await page.getByRole("link", { name: "Team" }).click();
  await expect(page.getByRole("table", { name: "Members of your organization" })).toContainText(`tm-${run}@example.com`);
  await accessible(page, "team");
  const invite = page.getByRole("form", { name: "Invite a member" });
  await invite.getByLabel("Email").fill(`crew-${run}@example.com`);
  await invite.getByLabel("Role").selectOption("dispatcher");
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("table", { name: "Invitations" })).toContainText(`crew-${run}@example.com`);

  const key = page.getByRole("form", { name: "Create an API key" });
  await key.getByLabel("Name").fill("TMS");
  await key.getByLabel("Scopes (comma-separated)").fill("loads:read, bogus:scope");
  await key.getByRole("button", { name: "Create key" }).click();
  await expect(key.getByRole("alert")).toBeVisible();
  await page.getByRole("form", { name: "Create an API key" }).getByLabel("Scopes (comma-separated)").fill("loads:read");
  await page.getByRole("form", { name: "Create an API key" }).getByRole("button", { name: "Create key" }).click();
  await expect(page.locator("#new-key code")).not.toBeEmpty();
  const keys = page.getByRole("table", { name: "API keys" });
  await expect(keys).toContainText("TMS");
  await keys.getByRole("button", { name: "Revoke TMS" }).click();
  await expect(page.getByRole("table", { name: "API keys" }).getByRole("row", { name: /TMS/ })).toContainText("revoked");
  await expect(page.getByRole("button", { name: "Revoke TMS" })).toHaveCount(0);
});
