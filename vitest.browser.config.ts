import { defineConfig } from "vitest/config"

// Tests that drive a real headless Chromium (Debian's /usr/bin/chromium) through playwright-core.
// Run with `npm run test:browser`; `npm test` leaves them out.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // one browser at a time on a two-core machine
    fileParallelism: false
  }
})
