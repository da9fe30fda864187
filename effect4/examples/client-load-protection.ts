// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Context } from "effect"
import { Presets, ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

const BillingLive = ResilientServiceClient.layer(Billing, {
  baseUrl: "http://billing:8080",
  serviceName: "Billing",
  ...Presets.fastOperations,
  deadline: "8 seconds", // a whole call: attempts, waits and queueing
  retry: {
    maxRetryAfter: "5 seconds", // a 503 asking for a longer wait fails at once
    retryUnsafeMethods: false // a POST without an Idempotency-Key is retried only if it was never sent
  },
  bulkhead: {
    maxConcurrent: 20, // calls to billing at the same time
    maxQueued: 50 // calls waiting for a place; more fail with BulkheadFull
  }
})

export { BillingLive }
