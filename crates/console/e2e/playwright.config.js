// The console's end-to-end tests: a served LaneRunner (LANERUNNER_URL, started by
// scripts/console-e2e.sh) in Debian's headless Chromium.
const { defineConfig } = require("@playwright/test");

module.exports = defineConfig({
  testDir: "tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: process.env.LANERUNNER_URL || "http://127.0.0.1:18080",
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    trace: "off",
  },
});
