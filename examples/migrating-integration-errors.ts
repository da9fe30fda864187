import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Service extends Context.Tag("app/Service")<Service, ResilientServiceClient.ResilientServiceClient>() {}

declare const data: unknown
declare const handleError: (e: ResilientServiceClient.ClientError) => Effect.Effect<void>

const call = Effect.gen(function*() {
  const client = yield* Service
  yield* client.post("/endpoint", { json: data })
}).pipe(
  Effect.catchTag(
    "ServiceUnavailable",
    "BulkheadFull",
    "RequestError",
    "ResponseError",
    "TimeoutException",
    handleError
  )
)

export { call }
