// docs/circuit-breaker.md, example 9 (kept in sync by test/docs.test.ts)
import { Schedule } from "effect"
import { CircuitBreaker } from "../../src/index.js"

// 10 s, 20 s, 40 s, 80 s, 160 s, then 5 minutes each time until a probe succeeds
const breaker = CircuitBreaker.make({
  name: "Chroma Server",
  recoveryTimeout: Schedule.exponential("10 seconds").pipe(Schedule.either(Schedule.spaced("5 minutes")))
})
