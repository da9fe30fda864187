// docs/fleet.md, the store example (kept in sync by test/editionDocs.test.ts)
import { Effect, Layer, Schedule } from "effect"
import { CircuitBreaker } from "effect/persistence"
import { Fleet } from "../../src/index.js"

// Effect 4's own breaker, its state kept by the fleet instead of layerStoreRedis
export const BreakerLive = CircuitBreaker.layer({
  tripPolicy: CircuitBreaker.consecutive(5),
  openDuration: Schedule.exponential("1 second").pipe(Schedule.upTo({ duration: "5 minutes" }))
}).pipe(
  Layer.provideMerge(Fleet.layerStore({
    fleet: "checkout",
    url: "redis://127.0.0.1:6379",
    idleTimeToLive: "1 hour",
    maxKeys: 2_000
  }))
)

export const charge = (host: string) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.CircuitBreaker
    return yield* Effect.succeed("charged").pipe(breaker.execute({ key: `payments:${host}` }))
  })
