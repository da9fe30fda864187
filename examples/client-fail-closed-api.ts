import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpClientResponse
} from "@effect/platform"
import { Context, Effect, Schema } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}

class CannotProcess extends Schema.TaggedError<CannotProcess>()(
  "CannotProcess",
  { error: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

const Charge = Schema.Struct({ customerId: Schema.String, amountCents: Schema.Int })
const Receipt = Schema.Struct({ chargeId: Schema.String })

const AppApi = HttpApi.make("app").add(
  HttpApiGroup.make("billing").add(
    HttpApiEndpoint.post("charge", "/charge").setPayload(Charge).addSuccess(Receipt).addError(CannotProcess)
  )
)

const cannotProcess = () => Effect.fail(new CannotProcess({ error: "Cannot process" }))

const BillingHandlers = HttpApiBuilder.group(
  AppApi,
  "billing",
  (handlers) =>
    handlers.handle("charge", ({ payload }) =>
      Effect.gen(function*() {
        const billing = yield* Billing
        const response = yield* billing.post("/charge", { json: payload })
        return yield* HttpClientResponse.schemaBodyJson(Receipt)(response)
      }).pipe(
        Effect.catchTags({
          ServiceUnavailable: cannotProcess,
          BulkheadFull: cannotProcess,
          RequestError: cannotProcess,
          ResponseError: cannotProcess,
          TimeoutException: cannotProcess,
          IllegalArgumentException: cannotProcess,
          ParseError: cannotProcess
        })
      ))
)

export { BillingHandlers }
