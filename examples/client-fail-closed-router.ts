import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Duration, Effect, Schema } from "effect"
import type { ResilientServiceClient, ServiceUnavailable } from "../src/index.js"

class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}

const Charge = Schema.Struct({ customerId: Schema.String, amountCents: Schema.Int })

const cannotProcess = () => Effect.succeed(HttpServerResponse.unsafeJson({ error: "Cannot process" }, { status: 503 }))

const breakerOpen = (error: ServiceUnavailable.ServiceUnavailable) =>
  Effect.succeed(HttpServerResponse.unsafeJson({ error: "Cannot process" }, {
    status: 503,
    headers: { "retry-after": String(Math.ceil(Duration.toSeconds(error.retryAfter))) }
  }))

const router = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/charge",
    Effect.gen(function*() {
      // read the incoming body first: its errors are the caller's (400), not billing's
      const charge = yield* HttpServerRequest.schemaBodyJson(Charge)
      const billing = yield* Billing
      return yield* billing.post("/charge", { json: charge }).pipe(
        Effect.flatMap((response) => response.json),
        Effect.map((receipt) => HttpServerResponse.unsafeJson(receipt)),
        Effect.catchTags({
          ServiceUnavailable: breakerOpen,
          BulkheadFull: cannotProcess,
          RequestError: cannotProcess,
          ResponseError: cannotProcess,
          TimeoutException: cannotProcess,
          IllegalArgumentException: cannotProcess
        })
      )
    })
  )
)

export { router }
