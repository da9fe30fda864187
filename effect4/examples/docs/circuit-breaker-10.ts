// docs/circuit-breaker.md, example 10 (kept in sync by test/editionDocs.test.ts)
import type { CircuitBreaker } from "../../src/index.js"

// e.g. behind an admin endpoint
const maintenance = (breaker: CircuitBreaker.CircuitBreaker, on: boolean) => on ? breaker.isolate : breaker.reset

// used here so that the example compiles under noUnusedLocals
export { maintenance }
