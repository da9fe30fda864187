import { HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}

declare const data: unknown

const charge = Effect.gen(function*() {
  const billing = yield* Billing
  const response = yield* billing.post("/charge", { json: data })
  return HttpServerResponse.unsafeJson(yield* response.json)
}).pipe(
  Effect.catchTag(
    "ServiceUnavailable",
    "BulkheadFull",
    "RequestError",
    "ResponseError",
    "TimeoutException",
    () => Effect.succeed(HttpServerResponse.unsafeJson({ error: "Cannot process" }, { status: 503 }))
  )
)
// Effect<HttpServerResponse, never, Billing>

export { charge }
