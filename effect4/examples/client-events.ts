// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Effect, Metric, Stream } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

declare const billing: ResilientServiceClient.ResilientServiceClient

const retries = Metric.counter("billing_retries")

// log what opossum's "timeout" and "reject" would tell, count cockatiel's onRetry
const watch = billing.events.pipe(
  Stream.runForEach((event) => {
    switch (event._tag) {
      case "Timeout":
        return Effect.logWarning(`${event.method} ${event.path}: attempt ${event.attempt} timed out`)
      case "Rejection":
        return Effect.logWarning(`${event.method} ${event.path} rejected: ${event.error.message}`)
      case "Retry":
        return Metric.update(retries, 1)
      case "Failure":
        return event.outcome === "failed" ? Effect.logDebug(`counted failure: ${event.error.message}`) : Effect.void
      case "Defect":
        return Effect.logError(`${event.method} ${event.path}: attempt ${event.attempt} died`, event.defect)
      case "Success":
      case "Interrupted":
        return Effect.void
    }
  }),
  Effect.forkScoped
)

export { watch }
