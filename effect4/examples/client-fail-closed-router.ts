// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Context, Duration, Effect, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ResilientServiceClient, ServiceUnavailable } from "../src/index.js"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

const Charge = Schema.Struct({ customerId: Schema.String, amountCents: Schema.Int })

const cannotProcess = () => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "Cannot process" }, { status: 503 }))

const breakerOpen = (error: ServiceUnavailable.ServiceUnavailable) =>
  Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "Cannot process" }, {
    status: 503,
    headers: { "retry-after": String(Math.ceil(Duration.toSeconds(error.retryAfter))) }
  }))

const ChargeRoute = HttpRouter.add(
  "POST",
  "/charge",
  Effect.gen(function*() {
    // read the incoming body first: its errors are the caller's (400), not billing's
    const charge = yield* HttpServerRequest.schemaBodyJson(Charge)
    const billing = yield* Billing
    return yield* billing.post("/charge", { json: charge }).pipe(
      Effect.flatMap((response) => response.json),
      Effect.map((receipt) => HttpServerResponse.jsonUnsafe(receipt)),
      Effect.catchTags({
        ServiceUnavailable: breakerOpen,
        BulkheadFull: cannotProcess,
        HttpClientError: cannotProcess,
        TimeoutError: cannotProcess,
        IllegalArgumentError: cannotProcess
      })
    )
  })
)

export { ChargeRoute }
