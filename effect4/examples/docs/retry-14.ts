// docs/retry.md, example 14 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { ResilientServiceClient } from "../../src/index.js"

declare const chroma: ResilientServiceClient.ResilientServiceClient // bulkhead: { maxConcurrent: 5, maxQueued: 5 }

// 20 at once: 5 run, 5 wait, 10 fail at once with BulkheadFull
const search = chroma.get("/query").pipe(
  Effect.catchTag("BulkheadFull", (error) => Effect.logWarning(error.message))
)

export { search }
