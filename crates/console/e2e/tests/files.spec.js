// Files: a carrier uploads a proof of delivery photo and a PDF; a file that lies about its
// type is refused next to the input; a download and a shared link work (the link without a
// session); deleting removes the file and its link.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { test, expect } = require("@playwright/test");
const { run, accessible, signUp } = require("./helpers");

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fea7d683f60000000049454e44ae426082", "hex");
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");

function file(name, bytes) {
  const dir = path.join(os.tmpdir(), `lanerunner-e2e-${run}`);
  fs.mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

test("a carrier stores proof of delivery, shares it by link, and deletes it", async ({ page, browser }) => {
  await signUp(page, "carrier", `files-${run}@example.com`);
  await page.getByRole("link", { name: "Files", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Files" })).toBeVisible();
  await accessible(page, "files, empty");

  // A PNG dressed as a PDF is refused, next to the input.
  await page.getByLabel("File (PDF or photo)").setInputFiles({ name: "pod.pdf", mimeType: "application/pdf", buffer: PNG });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.locator(".field-error")).toContainText("PNG");

  await page.getByLabel("File (PDF or photo)").setInputFiles(file("pod-photo.png", PNG));
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.locator("#files")).toContainText("pod-photo.png");
  await page.getByLabel("File (PDF or photo)").setInputFiles(file("bol.pdf", PDF));
  await page.getByRole("button", { name: "Upload" }).click();
  const rows = page.locator("#files tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText("application/pdf");
  await accessible(page, "files");

  // Downloaded in the browser, with its name.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download bol.pdf" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("bol.pdf");
  expect(fs.readFileSync(await download.path()).equals(PDF)).toBe(true);

  // Shared: the link works in a browser that never signed in.
  await page.getByRole("button", { name: "Share a link to pod-photo.png" }).click();
  const url = await page.locator("#shared code").innerText();
  const stranger = await browser.newContext();
  const res = await stranger.request.get(url);
  expect(res.status()).toBe(200);
  expect(Buffer.from(await res.body()).equals(PNG)).toBe(true);

  // Deleted: gone from the list, and the shared link no longer works.
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Delete pod-photo.png" }).click();
  await expect(rows).toHaveCount(1);
  expect((await stranger.request.get(url)).status()).toBe(404);
  await stranger.close();
});
