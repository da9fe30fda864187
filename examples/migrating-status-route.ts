import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { Context, Effect } from "effect"
import type { ResilientServiceClient } from "../src/index.js"
import { ServiceStatus } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
class Filesystem extends Context.Tag("app/Filesystem")<Filesystem, ResilientServiceClient.ResilientServiceClient>() {}

const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/v1/api/status/services",
    Effect.gen(function*() {
      const chroma = yield* Chroma
      const filesystem = yield* Filesystem
      return HttpServerResponse.unsafeJson({
        chroma: ServiceStatus.toJson(yield* chroma.status),
        filesystem: ServiceStatus.toJson(yield* filesystem.status)
      })
    })
  )
)

export { router }
