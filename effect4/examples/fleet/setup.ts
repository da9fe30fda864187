// docs/fleet.md, the setup example (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Context, Effect, Layer } from "effect"
import { Fleet, ResilientServiceClient, ServiceRegistry } from "../../src/index.js"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

// every replica of the checkout service runs this; they share one breaker named "billing"
const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", serviceName: "billing" })

export const FleetLive = Fleet.layerRedis({ fleet: "checkout", url: "redis://redis:6379" })

export const AppLive = BillingLive.pipe(
  Layer.provide(FleetLive),
  Layer.provideMerge(ServiceRegistry.layer),
  Layer.provide(NodeHttpClient.layerUndici)
)

// or with the Redis URL from the environment (a Config is an Effect in Effect 4)
export const FleetFromConfig = Layer.unwrap(
  Effect.map(Config.String("REDIS_URL"), (url) => Fleet.layerRedis({ fleet: "checkout", url }))
)
