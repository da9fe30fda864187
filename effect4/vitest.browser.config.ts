import { defineConfig } from "vitest/config"

// The status page in a real headless Chromium (Debian's /usr/bin/chromium) through playwright-core:
// `npx vitest run --config vitest.browser.config.ts`. Its files end in `.browser.ts`, so the
// edition's own `vitest run` leaves them out.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.browser.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // one browser at a time on a two-core machine
    fileParallelism: false
  }
})
