// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Context, Effect, Schema } from "effect"
import { HttpIncomingMessage } from "effect/http"
import type { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

const SearchResults = Schema.Struct({ ids: Schema.Array(Schema.Array(Schema.String)) })
type SearchResults = typeof SearchResults.Type

declare const fallbackSearch: (text: string) => Effect.Effect<SearchResults>

const search = (text: string) => {
  const useFallback = (error: ResilientServiceClient.ClientError) =>
    Effect.andThen(Effect.logError(`Search failed, using the fallback: ${error.message}`), fallbackSearch(text))
  return Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { query_texts: [text], n_results: 5 } })
    return yield* HttpIncomingMessage.schemaBodyJson(SearchResults)(response)
  }).pipe(
    Effect.catchTags({
      ServiceUnavailable: useFallback,
      BulkheadFull: useFallback,
      HttpClientError: useFallback,
      TimeoutError: useFallback
    })
  )
}
// Effect<SearchResults, IllegalArgumentError | SchemaError, Chroma>

export { search }
