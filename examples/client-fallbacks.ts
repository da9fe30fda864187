import { HttpClientResponse } from "@effect/platform"
import { Context, Effect, Schema } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

const SearchResults = Schema.Struct({ ids: Schema.Array(Schema.Array(Schema.String)) })
type SearchResults = typeof SearchResults.Type

declare const fallbackSearch: (text: string) => Effect.Effect<SearchResults>

const search = (text: string) => {
  const useFallback = (error: ResilientServiceClient.ClientError) =>
    Effect.zipRight(Effect.logError(`Search failed, using the fallback: ${error.message}`), fallbackSearch(text))
  return Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { query_texts: [text], n_results: 5 } })
    return yield* HttpClientResponse.schemaBodyJson(SearchResults)(response)
  }).pipe(
    Effect.catchTags({
      ServiceUnavailable: useFallback,
      BulkheadFull: useFallback,
      RequestError: useFallback,
      ResponseError: useFallback,
      TimeoutException: useFallback
    })
  )
}
// Effect<SearchResults, IllegalArgumentException | ParseError, Chroma>

export { search }
