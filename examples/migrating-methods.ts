import { Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

declare const client: ResilientServiceClient.ResilientServiceClient
declare const data: unknown

const calls = Effect.gen(function*() {
  const created = yield* client.post("/endpoint", { json: data }) // POST with retry
  const health = yield* client.get("/health") // GET with retry
  const updated = yield* client.put("/update", { json: data }) // PUT with retry
  const deleted = yield* client.delete("/item/123") // DELETE with retry
  const status = yield* client.status // the breaker's state: a ServiceStatus
  return { created, health, updated, deleted, status }
})

export { calls }
