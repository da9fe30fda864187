// docs/circuit-breaker.md, example 6 (kept in sync by test/editionDocs.test.ts)
import { Schema } from "effect"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import { ServiceUnavailable } from "../../src/index.js"

const search = HttpApiEndpoint.get("search", "/search", {
  success: Schema.Array(Schema.String),
  error: ServiceUnavailable.ServiceUnavailable
})
// a rejection is served as
// 503 {"_tag":"ServiceUnavailable","service":"Chroma Server","state":"open","retryAfter":45000}

// used here so that the example compiles under noUnusedLocals
export { search }
