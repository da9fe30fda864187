// docs/circuit-breaker.md, example 13 (kept in sync by test/editionDocs.test.ts)
import { CircuitBreaker } from "../../src/index.js"

const threeInTenSeconds: CircuitBreaker.TrippingStrategy<ReadonlyArray<number>> = {
  name: "threeInTenSeconds",
  initial: () => [],
  onSuccess: (failures) => failures,
  onFailure: (failures, now) => [...failures.filter((at) => now - at < 10_000), now],
  shouldTrip: (failures) => failures.length >= 3
}

const makeBreaker = CircuitBreaker.make({ name: "git", strategy: threeInTenSeconds })

// used here so that the example compiles under noUnusedLocals
export { makeBreaker, threeInTenSeconds }
