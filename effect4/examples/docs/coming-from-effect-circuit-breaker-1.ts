// docs/coming-from-effect-circuit-breaker.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { Effect, Schedule } from "effect"
import { CircuitBreaker } from "../../src/index.js"

declare const charge: (amount: number) => Effect.Effect<string, Error>

// effect/persistence:
//   const breaker = yield* CircuitBreaker.make({
//     tripPolicy: CircuitBreaker.rate({ threshold: 0.5, size: 20, minimumCalls: 10 }),
//     openDuration: Schedule.exponential("1 second").pipe(Schedule.upTo({ times: 8 }))
//   })
//   charge(10).pipe(breaker.execute({ key: "payments" }))
//   ... Effect.provide(CircuitBreaker.layerStoreMemory())
export const program = Effect.gen(function*() {
  const payments = yield* CircuitBreaker.make({
    name: "payments",
    strategy: CircuitBreaker.failureRate({ threshold: 0.5, minimumCalls: 10, window: { kind: "count", size: 20 } }),
    // 1 s, 2 s, 4 s, … then 5 minutes each time until a probe succeeds
    recoveryTimeout: Schedule.min([Schedule.exponential("1 second"), Schedule.spaced("5 minutes")]),
    // a probe that has not answered in 10 s counts as failed: the breaker opens again
    probeTimeout: "10 seconds"
  })
  return yield* payments(charge(10)).pipe(
    Effect.catchTag("ServiceUnavailable", (rejected) => Effect.succeed(`payments unavailable: ${rejected.message}`))
  )
}).pipe(Effect.scoped)
