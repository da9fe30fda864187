// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"
import { ServiceStatus } from "../src/index.js"

declare const chroma: ResilientServiceClient.ResilientServiceClient
declare const filesystem: ResilientServiceClient.ResilientServiceClient

// the body of the Python guide's service_status() route
const serviceStatus = Effect.gen(function*() {
  return {
    chroma: ServiceStatus.toJson(yield* chroma.status),
    filesystem: ServiceStatus.toJson(yield* filesystem.status)
  }
})

export { serviceStatus }
