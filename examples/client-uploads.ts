import { HttpBody } from "@effect/platform"
import { Effect } from "effect"
import { ResilientServiceClient } from "../src/index.js"

declare const files: ResilientServiceClient.ResilientServiceClient

const upload = (path: string) =>
  Effect.flatMap(HttpBody.file(path), (body) =>
    // read again from the disk by each attempt
    files.put(`/files/${encodeURIComponent(path)}`, { body: ResilientServiceClient.replayable(body) }))

export { upload }
