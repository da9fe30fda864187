import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

declare const data: unknown
declare const fallbackSearch: () => Effect.Effect<unknown>

const results = Effect.gen(function*() {
  const chroma = yield* Chroma
  const response = yield* chroma.post("/query", { json: data })
  return yield* response.json
}).pipe(
  Effect.catchTag(
    "ServiceUnavailable",
    "BulkheadFull",
    "RequestError",
    "ResponseError",
    "TimeoutException",
    () => fallbackSearch()
  )
)
// Effect<unknown, never, Chroma>

export { results }
