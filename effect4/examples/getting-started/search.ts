// docs/getting-started.md, src/search.ts (kept in sync by test/gettingStarted.test.ts)
import { Effect, Schema } from "effect"
import { HttpIncomingMessage } from "effect/http"
import type { ResilientServiceClient } from "../../src/index.js"
import { Chroma } from "./Chroma.js"

const SearchResults = Schema.Struct({ ids: Schema.Array(Schema.Array(Schema.String)) })

export const search = (text: string) =>
  Effect.gen(function*() {
    const chroma = yield* Chroma
    const response = yield* chroma.post("/query", { json: { query_texts: [text], n_results: 5 } })
    return yield* HttpIncomingMessage.schemaBodyJson(SearchResults)(response)
  })
// Effect<{ ids: ... }, ServiceUnavailable | BulkheadFull | HttpClientError | TimeoutError | IllegalArgumentError | SchemaError, Chroma>

// fail open: whatever kept Chroma from answering, answer with no results and say why in the log
const noResults = (error: ResilientServiceClient.ClientError) =>
  Effect.as(
    Effect.logWarning(`Search failed, answering with no results: ${error.message}`),
    SearchResults.make({ ids: [] })
  )

export const searchOrEmpty = (text: string) =>
  search(text).pipe(
    Effect.catchTags({
      ServiceUnavailable: noResults,
      BulkheadFull: noResults,
      HttpClientError: noResults,
      TimeoutError: noResults
    })
  )
// Effect<{ ids: ... }, IllegalArgumentError | SchemaError, Chroma>
