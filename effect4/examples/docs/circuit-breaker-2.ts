// docs/circuit-breaker.md, example 2 (kept in sync by test/editionDocs.test.ts)
import * as HttpClientError from "effect/http/HttpClientError"
import { CircuitBreaker, RetryPolicy } from "../../src/index.js"

const makeBreaker = CircuitBreaker.make({
  name: "billing",
  failureThreshold: 3,
  recoveryTimeout: "30 seconds",
  // only failures that say something about the service's health
  isFailure: (error) => RetryPolicy.isTransient(error) || !HttpClientError.isHttpClientError(error)
})

// used here so that the example compiles under noUnusedLocals
export { makeBreaker }
