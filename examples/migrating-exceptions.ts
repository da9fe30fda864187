import { Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

declare const client: ResilientServiceClient.ResilientServiceClient
declare const data: unknown

const call = client.post("/endpoint", { json: data }).pipe(
  Effect.asVoid,
  // the circuit breaker is open: the service is failing; use a fallback or cached data
  Effect.catchTag("ServiceUnavailable", () => Effect.void),
  // a transient error (timeout, connection, status): the service may be unavailable for a while
  Effect.catchTag("RequestError", "ResponseError", "TimeoutException", (e) => Effect.logWarning(e.message)),
  // the bulkhead is full (only with maxConcurrent): no request was sent
  Effect.catchTag("BulkheadFull", () => Effect.void),
  // an unexpected error: a defect, not a value of the error type
  Effect.catchAllDefect((defect) => Effect.logError("Unexpected error", defect))
)
// Effect<void, never, never>

export { call }
