// docs/circuit-breaker.md, example 6 (kept in sync by test/docs.test.ts)
import { HttpApiEndpoint } from "@effect/platform"
import { Schema } from "effect"
import { ServiceUnavailable } from "../../src/index.js"

const search = HttpApiEndpoint.get("search", "/search")
  .addSuccess(Schema.Array(Schema.String))
  .addError(ServiceUnavailable.ServiceUnavailable)
// a rejection is served as
// 503 {"service":"Chroma Server","state":"open","retryAfter":45000,"_tag":"ServiceUnavailable"}
