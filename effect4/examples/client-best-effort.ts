// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Context, Effect, Stream } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Git extends Context.Service<Git, ResilientServiceClient.ResilientServiceClient>()("app/Git") {}

interface Document {
  readonly path: string
  readonly content: string
}

declare const saveDocument: (document: Document) => Effect.Effect<void>

const snapshotFailed = (error: ResilientServiceClient.ClientError) =>
  Effect.logWarning(`Snapshot failed: ${error.message}`)

const snapshot = (document: Document) =>
  Effect.gen(function*() {
    const git = yield* Git
    const response = yield* git.post("/snapshot", { json: { path: document.path } })
    yield* Stream.runDrain(response.stream)
  }).pipe(
    Effect.catchTags({
      ServiceUnavailable: snapshotFailed,
      BulkheadFull: snapshotFailed,
      HttpClientError: snapshotFailed,
      TimeoutError: snapshotFailed
    })
  )

const save = (document: Document) =>
  Effect.gen(function*() {
    yield* saveDocument(document)
    yield* snapshot(document) // continues whether or not the snapshot was taken
  })
// Effect<void, IllegalArgumentError, Git>

export { save }
