import { HttpBody, HttpClient } from "@effect/platform"
import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Service extends Context.Tag("app/Service")<Service, ResilientServiceClient.ResilientServiceClient>() {}

declare const serviceUrl: string
declare const data: unknown

// old: the platform's HttpClient, with no retry, no timeout and no breaker
const before = Effect.gen(function*() {
  const http = yield* HttpClient.HttpClient
  return yield* http.post(`${serviceUrl}/endpoint`, { body: HttpBody.unsafeJson(data) })
})

// new: the resilient client; the path is relative to its baseUrl
const after = Effect.gen(function*() {
  const client = yield* Service
  return yield* client.post("/endpoint", { json: data })
})

export { after, before }
