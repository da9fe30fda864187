// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Context, Effect, Schema } from "effect"
import { HttpIncomingMessage } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import type { ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

class CannotProcess extends Schema.TaggedError<CannotProcess>()(
  "CannotProcess",
  { error: Schema.String },
  { httpApiStatus: 503 }
) {}

const Charge = Schema.Struct({ customerId: Schema.String, amountCents: Schema.Int })
const Receipt = Schema.Struct({ chargeId: Schema.String })

const AppApi = HttpApi.make("app").add(
  HttpApiGroup.make("billing").add(
    HttpApiEndpoint.post("charge", "/charge", { payload: Charge, success: Receipt, error: CannotProcess })
  )
)

const cannotProcess = () => Effect.fail(new CannotProcess({ error: "Cannot process" }))

// the client is taken while the group is built: a service asked for inside a handler would be a
// requirement of each request
const BillingHandlers = HttpApiBuilder.group(AppApi, "billing", (handlers) =>
  Effect.gen(function*() {
    const billing = yield* Billing
    return handlers.handle("charge", ({ payload }) =>
      billing.post("/charge", { json: payload }).pipe(
        Effect.flatMap(HttpIncomingMessage.schemaBodyJson(Receipt)),
        Effect.catchTags({
          ServiceUnavailable: cannotProcess,
          BulkheadFull: cannotProcess,
          HttpClientError: cannotProcess,
          TimeoutError: cannotProcess,
          IllegalArgumentError: cannotProcess,
          SchemaError: cannotProcess
        })
      ))
  }))

export { BillingHandlers }
