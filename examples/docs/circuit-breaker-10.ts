// docs/circuit-breaker.md, example 10 (kept in sync by test/docs.test.ts)
import { Effect } from "effect"
import type { CircuitBreaker } from "../../src/index.js"

// e.g. behind an admin endpoint
const maintenance = (breaker: CircuitBreaker.CircuitBreaker, on: boolean) =>
  on ? breaker.isolate : breaker.reset
