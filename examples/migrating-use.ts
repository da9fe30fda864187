import type { HttpClientError } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import type { Cause } from "effect"
import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

declare const data: unknown
declare const fallbackSearch: () => Effect.Effect<unknown>

const searchFailed = (e: HttpClientError.HttpClientError | Cause.TimeoutException) =>
  Effect.zipRight(
    Effect.logError(`Search failed: ${e.message}`),
    Effect.succeed(HttpServerResponse.unsafeJson({ error: "Service unavailable" }, { status: 503 }))
  )

const searchRoute = Effect.gen(function*() {
  const chroma = yield* Chroma
  const results = yield* chroma.post("/query", { json: data }).pipe(
    Effect.flatMap((response) => response.json),
    Effect.catchTag("ServiceUnavailable", () => Effect.zipRight(Effect.logError("Chroma is down"), fallbackSearch()))
  )
  return HttpServerResponse.unsafeJson(results)
}).pipe(
  Effect.catchTag("RequestError", "ResponseError", "TimeoutException", searchFailed)
)
// Effect<HttpServerResponse, BulkheadFull, Chroma>

export { searchRoute }
