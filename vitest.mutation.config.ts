import { configDefaults, defineConfig } from "vitest/config"

// The tests that exercise the breaker's machine, the breaker and the retry policy (its
// Retry-After parser and retry budget are exercised through the client's load protection): what
// `npm run test:mutation` (Stryker, stryker.config.json) runs against each mutant
// (test/Concurrency.test.ts is left out: its 10,000-call storm takes seconds per mutant).
export default defineConfig({
  test: {
    include: [
      "core/test/machine.test.ts",
      "core/test/strategies.test.ts",
      "core/test/retry.test.ts",
      "test/CircuitBreaker.test.ts",
      "test/CircuitBreakerShell.test.ts",
      "test/Strategies.test.ts",
      "test/BreakerPolicies.test.ts",
      "test/RetryPolicy.test.ts",
      "test/LoadProtection.test.ts",
      "test/BreakerModel.test.ts"
    ],
    // fewer generated runs per mutant than `npm test` (300): a mutant is run against every test
    // that covers it, and most of them are killed in the first few runs
    env: { RESILIENCE_PROPERTY_RUNS: "60" },
    exclude: [...configDefaults.exclude, "test/browser/**"],
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
})
