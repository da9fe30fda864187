// docs/fleet.md, example 1 (kept in sync by test/docs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Context, Effect, Layer } from "effect"
import { Fleet, ResilientServiceClient, ServiceRegistry } from "../../src/index.js"

class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}

// every replica of the checkout service runs this; they share one breaker named "billing"
const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", serviceName: "billing" })

const FleetLive = Fleet.layerRedis({ fleet: "checkout", url: "redis://redis:6379" })

const AppLive = BillingLive.pipe(
  Layer.provide(FleetLive),
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

// or with the Redis URL from the environment
const FleetFromConfig = Layer.unwrapEffect(
  Effect.map(Config.string("REDIS_URL"), (url) => Fleet.layerRedis({ fleet: "checkout", url }))
)
