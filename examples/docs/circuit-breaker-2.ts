// docs/circuit-breaker.md, example 2 (kept in sync by test/docs.test.ts)
import { HttpClientError } from "@effect/platform"
import { CircuitBreaker, RetryPolicy } from "../../src/index.js"

const makeBreaker = CircuitBreaker.make({
  name: "billing",
  failureThreshold: 3,
  recoveryTimeout: "30 seconds",
  // only failures that say something about the service's health
  isFailure: (error) => RetryPolicy.isTransient(error) || !HttpClientError.isHttpClientError(error)
})
