// docs/fleet.md, the router example (kept in sync by test/editionDocs.test.ts)
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import * as HttpRouter from "effect/http/HttpRouter"
import { createServer } from "node:http"
import { Fleet, ServiceRegistry, StatusApi } from "../../src/index.js"

const FleetLive = Fleet.layerRedis({ fleet: "checkout", url: "redis://redis:6379" })

// GET /v1/api/status/services (this replica) and GET /v1/api/status/fleet (every replica)
export const AdminServer = HttpRouter.serve(Layer.mergeAll(StatusApi.router, Fleet.router)).pipe(
  Layer.provide([FleetLive, ServiceRegistry.layer]),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 9090, host: "127.0.0.1" }))
)
