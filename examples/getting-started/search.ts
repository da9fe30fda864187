// docs/getting-started.md, steps 3 and 4: calling the client, then a fallback
import { HttpClientResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Chroma } from "./Chroma.js"

const SearchResults = Schema.Struct({ ids: Schema.Array(Schema.Array(Schema.String)) })

export const search = (text: string) =>
  Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { query_texts: [text], n_results: 5 } })
    return yield* HttpClientResponse.schemaBodyJson(SearchResults)(response)
  })
// Effect<{ ids: ... }, ServiceUnavailable | BulkheadFull | HttpClientError | TimeoutException | ParseError, Chroma>

// while the breaker is open, answer with no results instead of failing
export const searchOrEmpty = (text: string) =>
  search(text).pipe(
    Effect.catchTag("ServiceUnavailable", (error) =>
      Effect.zipRight(
        Effect.logWarning(`Search skipped: ${error.message}`),
        Effect.succeed({ ids: [] })
      ))
  )
