// docs/coming-from-opossum-or-cockatiel.md: opossum's options and events, in Effect
import { Effect, Stream } from "effect"
import { CircuitBreaker } from "../src/index.js"

declare const getInfoFromDatabase: (id: string, signal: AbortSignal) => Promise<{ readonly name: string }>

// opossum: new CircuitBreaker(getInfoFromDatabase, { timeout: 3000, resetTimeout: 30000,
//   errorThresholdPercentage: 50 }), breaker.fallback(() => ({ name: "unknown" })), breaker.on("open", …)
const program = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make({
    name: "database",
    recoveryTimeout: "30 seconds",
    strategy: CircuitBreaker.failureRate({
      threshold: 0.5,
      minimumCalls: 10,
      window: { kind: "time", duration: "10 seconds", buckets: 10 }
    })
  })
  yield* breaker.changes.pipe(
    Stream.runForEach((change) => Effect.logWarning(`database breaker: ${change.from} → ${change.to}`)),
    Effect.forkScoped
  )
  const getInfo = (id: string) =>
    breaker(
      Effect.tryPromise((signal) => getInfoFromDatabase(id, signal)).pipe(Effect.timeout("3 seconds"))
    ).pipe(
      Effect.catchTags({
        ServiceUnavailable: () => Effect.succeed({ name: "unknown" }),
        TimeoutException: () => Effect.succeed({ name: "unknown" }),
        UnknownException: () => Effect.succeed({ name: "unknown" })
      })
    )
  return yield* getInfo("42")
})

Effect.runPromise(Effect.scoped(program))
