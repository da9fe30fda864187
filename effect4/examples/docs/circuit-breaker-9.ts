// docs/circuit-breaker.md, example 9 (kept in sync by test/editionDocs.test.ts)
import { Schedule } from "effect"
import { CircuitBreaker } from "../../src/index.js"

// 10 s, 20 s, 40 s, 80 s, 160 s, then 5 minutes each time until a probe succeeds
const breaker = CircuitBreaker.make({
  name: "Chroma Server",
  recoveryTimeout: Schedule.min([Schedule.exponential("10 seconds"), Schedule.spaced("5 minutes")])
})

// used here so that the example compiles under noUnusedLocals
export { breaker }
