// docs/circuit-breaker.md, example 7 (kept in sync by test/editionDocs.test.ts)
import { CircuitBreaker } from "../../src/index.js"

// 50 % of the last 100 calls failed, judged once 20 calls were seen
const billing = CircuitBreaker.make({
  name: "billing",
  strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 20, window: { kind: "count", size: 100 } })
})

// 80 % of the calls of the last minute failed or took more than 2 s, once 10 were seen
const search = CircuitBreaker.make({
  name: "search",
  strategy: CircuitBreaker.slowCallRate({
    slowerThan: "2 seconds",
    threshold: 0.8,
    minimumCalls: 10,
    window: { kind: "time", duration: "1 minute", buckets: 6 }
  })
})

// used here so that the example compiles under noUnusedLocals
export { billing, search }
