import { Context, Effect, Stream } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Git extends Context.Tag("app/Git")<Git, ResilientServiceClient.ResilientServiceClient>() {}

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
      RequestError: snapshotFailed,
      ResponseError: snapshotFailed,
      TimeoutException: snapshotFailed
    })
  )

const save = (document: Document) =>
  Effect.gen(function*() {
    yield* saveDocument(document)
    yield* snapshot(document) // continues whether or not the snapshot was taken
  })
// Effect<void, never, Git>

export { save }
