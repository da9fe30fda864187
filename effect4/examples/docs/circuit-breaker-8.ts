// docs/circuit-breaker.md, example 8 (kept in sync by test/editionDocs.test.ts)
import { CircuitBreaker } from "../../src/index.js"

const breaker = CircuitBreaker.make({ name: "git", halfOpenMaxProbes: 2, probeTimeout: "10 seconds" })

// used here so that the example compiles under noUnusedLocals
export { breaker }
