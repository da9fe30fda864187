// docs/circuit-breaker.md, example 4 (kept in sync by test/docs.test.ts)
import { Effect, Schema } from "effect"
import { CircuitBreaker, ServiceStatus } from "../../src/index.js"

const statusJson = (breaker: CircuitBreaker.CircuitBreaker) =>
  Effect.map(breaker.status, ServiceStatus.toJson)

// and back, e.g. in a client of the status endpoint
const decodeStatus = Schema.decodeUnknown(ServiceStatus.ServiceStatus)
