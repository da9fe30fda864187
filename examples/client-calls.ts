import { HttpClientResponse } from "@effect/platform"
import { Effect, Schema, Stream } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

declare const chroma: ResilientServiceClient.ResilientServiceClient

const QueryResult = Schema.Struct({
  ids: Schema.Array(Schema.Array(Schema.String)),
  distances: Schema.Array(Schema.Array(Schema.Number))
})

const query = (text: string, requestId: string) =>
  chroma.post("/api/v1/collections/docs/query", {
    json: { query_texts: [text], n_results: 5 },
    headers: { "x-request-id": requestId },
    timeout: "30 seconds" // this call only; the client's timeout stays for the others
  }).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(QueryResult)))

const heartbeat = chroma.get("/api/v1/heartbeat").pipe(Effect.flatMap((response) => response.json))

const listCollections = chroma.get("/api/v1/collections", { urlParams: { limit: 20, offset: 40 } }).pipe(
  Effect.flatMap((response) => response.json)
)

// a body you do not need: drain it, so its connection goes back to the pool
const deleteCollection = chroma.delete("/api/v1/collections/docs").pipe(
  Effect.flatMap((response) => Stream.runDrain(response.stream))
)

export { deleteCollection, heartbeat, listCollections, query }
