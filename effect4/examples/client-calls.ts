// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Effect, Schema, Stream } from "effect"
import { HttpIncomingMessage } from "effect/http"
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
  }).pipe(Effect.flatMap(HttpIncomingMessage.schemaBodyJson(QueryResult)))

const heartbeat = chroma.get("/api/v1/heartbeat").pipe(Effect.flatMap((response) => response.json))

const listCollections = chroma.get("/api/v1/collections", { urlParams: { limit: 20, offset: 40 } }).pipe(
  Effect.flatMap((response) => response.json)
)

// the body was read within the attempt: a response you do not need costs nothing more
const deleteCollection = chroma.delete("/api/v1/collections/docs").pipe(Effect.asVoid)

// a large export, read as it arrives (its own timeout, since the attempt ended at the headers)
const exportCollection = chroma.get("/api/v1/collections/docs/export", { stream: true }).pipe(
  Effect.flatMap((response) => Stream.runCount(response.stream)),
  Effect.timeout("5 minutes")
)

export { deleteCollection, exportCollection, heartbeat, listCollections, query }
