// docs/retry.md, example 11 (kept in sync by test/editionDocs.test.ts)
import type { ResilientServiceClient } from "../../src/index.js"

declare const search: ResilientServiceClient.ResilientServiceClient // made with deadline: "5 seconds"

const quick = search.get("/suggest", { deadline: "800 millis" })

export { quick }
