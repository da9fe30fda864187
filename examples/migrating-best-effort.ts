import { Context, Effect, Stream } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

class Git extends Context.Tag("app/Git")<Git, ResilientServiceClient.ResilientServiceClient>() {}

declare const data: unknown

const snapshot = Effect.gen(function*() {
  const git = yield* Git
  const response = yield* git.post("/snapshot", { json: data })
  yield* Stream.runDrain(response.stream) // the body is not needed: drain it so the connection is reused
}).pipe(
  Effect.catchTag(
    "ServiceUnavailable",
    "BulkheadFull",
    "RequestError",
    "ResponseError",
    "TimeoutException",
    (e) => Effect.logWarning(`Snapshot failed: ${e.message}`)
  )
)
// Effect<void, never, Git>: continue regardless

export { snapshot }
