// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { ResilientServiceClient } from "../src/index.js"

// a client built the effect/http way, given the resilience of a ResilientServiceClient
const billingClient = Effect.gen(function*() {
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest(HttpClientRequest.prependUrl("http://billing:8080")),
    HttpClient.mapRequest(HttpClientRequest.acceptJson)
  )
  return yield* client.pipe(
    ResilientServiceClient.transform({ serviceName: "Billing", maxAttempts: 2, timeout: "5 seconds" })
  )
})

const invoices = Effect.gen(function*() {
  const billing = yield* billingClient
  const response = yield* billing.get("/invoices")
  return yield* response.json
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

export { invoices }
