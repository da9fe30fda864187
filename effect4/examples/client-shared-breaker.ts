// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { CircuitBreaker, ResilientServiceClient } from "../src/index.js"

declare const chargeInLegacyBilling: Effect.Effect<void, Error>

const program = Effect.gen(function*() {
  // one breaker for billing, whichever way it is called
  const billingBreaker = yield* CircuitBreaker.make({ name: "Billing", failureThreshold: 5 })
  const v1 = yield* ResilientServiceClient.make({ baseUrl: "http://billing:8080/v1", breaker: billingBreaker })
  const v2 = yield* ResilientServiceClient.make({ baseUrl: "http://billing:8080/v2", breaker: billingBreaker })
  // a raw effect under the same breaker: failures of any of the three open it for all
  const legacy = billingBreaker(chargeInLegacyBilling)
  return { v1, v2, legacy }
}).pipe(Effect.provide(NodeHttpClient.layerUndici))

export { program }
