import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"
import { ServiceStatus } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

const status = HttpRouter.get(
  "/status/services",
  Effect.gen(function*() {
    const chroma = yield* Chroma
    return HttpServerResponse.unsafeJson({ chroma: ServiceStatus.toJson(yield* chroma.status) })
  })
)

const app = HttpRouter.empty.pipe(status)

export { app }
