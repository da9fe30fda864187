import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    // examples/getting-started/ holds the getting-started page's test, word for word; core/test
    // holds the tests of the pure core shared with the Effect 4 edition (run here, once)
    include: ["test/**/*.test.ts", "core/test/**/*.test.ts", "examples/getting-started/*.test.ts"],
    // the headless-browser tests have their own config (vitest.browser.config.ts, `npm run test:browser`)
    exclude: [...configDefaults.exclude, "test/browser/**"],
    // the default reporter, and one line naming the fleet suites skipped without redis-server
    reporters: ["default", "./test/utils/skippedFleetSuites.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
})
