// The console's load board in headless Chromium against a served LaneRunner (LANERUNNER_URL):
// time to interactive (the search form usable and the map drawn), time from pressing Search
// to the results in the table and on the map, and bytes transferred on a first and a repeat
// visit (CDP's encoded lengths: what crossed the wire, headers included). Prints Markdown.
//
//   node bench/console/measure.js      (from bench/console/run.sh)
const path = require("path");
const { chromium } = require(path.join(__dirname, "../../crates/console/e2e/node_modules/playwright-core"));

const BASE = process.env.LANERUNNER_URL || "http://127.0.0.1:18080";
const RUNS = Number(process.env.RUNS || 7);
const ORIGIN = process.env.ORIGIN || "Dallas, TX";

async function signUp() {
  const email = `bench-${Date.now()}@example.com`;
  const legal = await (await fetch(`${BASE}/v1/legal`)).json();
  const r = await fetch(`${BASE}/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ organization: { name: "Bench Carrier", kind: "carrier", usdot_number: "1234567" }, name: "Bench", email, password: "a long passphrase for benches", terms_version: legal.terms_version }),
  });
  if (!r.ok) throw new Error(`signup: ${r.status} ${await r.text()}`);
  const b = await r.json();
  return { access: b.tokens.access_token, refresh: b.tokens.refresh_token, me: { user: b.user, organization: b.organization } };
}

async function visit(context, session) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  let requests = 0;
  cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; requests += 1; });
  await page.addInitScript((s) => sessionStorage.setItem("lanerunner.session", JSON.stringify(s)), session);
  const started = Date.now();
  await page.goto(`${BASE}/#/board`);
  await page.getByLabel("Origin").waitFor();
  await page.locator('#map[data-ready="1"]').waitFor();
  const interactive = Date.now() - started;
  const firstBytes = bytes;
  const firstRequests = requests;
  await page.getByLabel("Origin").fill(ORIGIN);
  const pressed = Date.now();
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.waitForFunction(() => Number(document.querySelector("#map")?.dataset.markers || 0) > 0 && document.querySelectorAll("tbody tr").length > 0);
  const results = Date.now() - pressed;
  const rows = await page.locator("tbody tr").count();
  const summary = await page.locator("#summary").textContent();
  await page.close();
  return { interactive, results, bytes: firstBytes, requests: firstRequests, rows, summary };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const session = await signUp();
  const first = [];
  const repeat = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    first.push(await visit(context, session)); // empty cache
    repeat.push(await visit(context, session)); // the same browser again: revalidations
    await context.close();
  }
  await browser.close();
  const row = (name, runs) =>
    `| ${name} | ${median(runs.map((r) => r.interactive))} ms | ${median(runs.map((r) => r.results))} ms | ${(median(runs.map((r) => r.bytes)) / 1024).toFixed(1)} KB in ${median(runs.map((r) => r.requests))} requests |`;
  console.log(`Board: ${first[0].summary} (${first[0].rows} rows shown), median of ${RUNS} runs\n`);
  console.log("| visit | time to interactive | Search → results in table and map | bytes transferred before interactive |");
  console.log("|---|---:|---:|---:|");
  console.log(row("first (empty cache)", first));
  console.log(row("repeat (cached, revalidated)", repeat));
})().catch((e) => { console.error(e); process.exit(1); });
