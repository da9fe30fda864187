// docs/retry.md, example 13 (kept in sync by test/editionDocs.test.ts)
import type { ResilientServiceClient } from "../../src/index.js"

declare const billing: ResilientServiceClient.ResilientServiceClient // made with retry: { retryUnsafeMethods: false }

const charge = (orderId: string, cents: number) =>
  billing.post("/charge", { json: { orderId, cents }, headers: { "Idempotency-Key": `charge-${orderId}` } })

export { charge }
