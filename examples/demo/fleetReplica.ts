/**
 * One replica of `npm run demo -- --fleet`, run as its own process by fleet.ts: a breaker named
 * "upstream" (in the fleet, or alone with `independent`) in front of the embedded upstream,
 * called every `interval` ms. It reports every transition to the parent over IPC, with the wall
 * time, so that the parent can show who opened first and how long the others took to follow.
 *
 *   fleetReplica.ts <redis url> <upstream url> <name> <fleet|independent> <interval ms>
 */
import { Effect, Logger, LogLevel, Schedule, Stream } from "effect"
import { CircuitBreaker, Fleet } from "../../src/index.js"

const [redisUrl = "", upstreamUrl = "", name = "replica", mode = "fleet", interval = "20"] = process.argv.slice(2)

const send = (message: unknown) => Effect.sync(() => process.send?.(message))

const call = Effect.tryPromise(() => fetch(upstreamUrl)).pipe(
  Effect.flatMap((response) =>
    Effect.promise(() => response.arrayBuffer()).pipe(
      Effect.zipRight(response.ok ? Effect.void : Effect.fail(`HTTP ${response.status}`))
    )
  )
)

const replica = (fleet: Fleet.Fleet | undefined) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make({ name: "upstream", failureThreshold: 5, recoveryTimeout: "1 second" })
    yield* breaker.changes.pipe(
      Stream.runForEach((change) =>
        send({ type: "change", replica: name, from: change.from, to: change.to, wallTime: Date.now() })
      ),
      Effect.forkScoped
    )
    if (fleet !== undefined) {
      yield* fleet.reachable.pipe(Effect.repeat({ until: (r) => r, schedule: Schedule.spaced("10 millis") }))
    }
    yield* send({ type: "ready", replica: name })
    return yield* Effect.ignore(breaker(call)).pipe(Effect.repeat(Schedule.spaced(`${Number(interval)} millis`)))
  })

// in the fleet: breakers made under the fleet layer join it; independent: no fleet in context
const program = mode === "fleet"
  ? Effect.flatMap(Fleet.Fleet, (fleet) => replica(fleet)).pipe(
    Effect.scoped,
    Effect.provide(Fleet.layerRedis({ fleet: "demo", url: redisUrl, replica: name }))
  )
  : Effect.scoped(replica(undefined))

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.None))).catch((error) => {
  console.error(error)
  process.exit(1)
})
