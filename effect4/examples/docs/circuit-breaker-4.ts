// docs/circuit-breaker.md, example 4 (kept in sync by test/editionDocs.test.ts)
import { Effect, Schema } from "effect"
import type { CircuitBreaker } from "../../src/index.js"
import { ServiceStatus } from "../../src/index.js"

const statusJson = (breaker: CircuitBreaker.CircuitBreaker) => Effect.map(breaker.status, ServiceStatus.toJson)

// and back, e.g. in a client of the status endpoint
const decodeStatus = Schema.decodeUnknownEffect(ServiceStatus.ServiceStatusJson)

// used here so that the example compiles under noUnusedLocals
export { decodeStatus, statusJson }
