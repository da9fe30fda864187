// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { HttpBody } from "effect/http"
import { ResilientServiceClient } from "../src/index.js"

declare const files: ResilientServiceClient.ResilientServiceClient

const upload = (path: string) =>
  Effect.flatMap(HttpBody.file(path), (body) =>
    // read again from the disk by each attempt
    files.put(`/files/${encodeURIComponent(path)}`, { body: ResilientServiceClient.replayable(body) }))

export { upload }
