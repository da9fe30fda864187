// docs/retry.md, example 8 (kept in sync by test/docs.test.ts)
import type { ResilientServiceClient } from "../../src/index.js"

declare const search: ResilientServiceClient.ResilientServiceClient // made with deadline: "5 seconds"

const quick = search.get("/suggest", { deadline: "800 millis" })
