// docs/client.md, breakerKey (kept in sync by test/docs.test.ts)
import { Headers } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { ResilientServiceClient } from "../src/index.js"

const program = Effect.gen(function*() {
  // requests to several hosts (absolute URLs): a host that fails is refused, the others are called
  const mirrors = yield* ResilientServiceClient.make({ baseUrl: "http://mirror-a:8080", breakerKey: "host" })
  // one breaker per tenant, read from the request
  const reports = yield* ResilientServiceClient.make({
    baseUrl: "http://reports:8080",
    breakerKey: (request) => Option.getOrElse(Headers.get(request.headers, "x-tenant"), () => "none")
  })
  const keys = yield* mirrors.keyedBreaker!.keys // ["mirror-a:8080", ...]
  return { mirrors, reports, keys }
}).pipe(Effect.provide(NodeHttpClient.layerUndici))

export { program }
