// docs/client.md (kept in sync by test/editionDocs.test.ts)
import type { Effect } from "effect"
import { ResilientServiceClient } from "../src/index.js"

declare const search: Effect.Effect<unknown, ResilientServiceClient.ClientError>

// every attempt of every call made by `search` gets 2 s, the whole call 3 s
const quick = search.pipe(ResilientServiceClient.withCallOptions({ timeout: "2 seconds", deadline: "3 seconds" }))

export { quick }
