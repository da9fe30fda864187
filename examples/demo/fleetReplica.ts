/**
 * One replica of `npm run demo -- --fleet`, run as its own process by fleet.ts. On each `run`
 * message it makes a breaker named "upstream" (in the fleet, or alone with `independent`) in
 * front of the given upstream and calls it every `interval` ms until a `stop` message. It
 * reports every transition to the parent over IPC, with the wall time, so that the parent can
 * show who opened first and how long the others took to follow.
 *
 *   fleetReplica.ts <redis url> <name> <interval ms>
 */
import { Effect, Fiber, Logger, LogLevel, Queue, Schedule, Stream } from "effect"
import { CircuitBreaker, Fleet } from "../../src/index.js"

const [redisUrl = "", name = "replica", interval = "20"] = process.argv.slice(2)

type Command =
  | { readonly type: "run"; readonly mode: "fleet" | "independent"; readonly upstream: string }
  | { readonly type: "stop" }

const send = (message: unknown) => Effect.sync(() => process.send?.(message))

const call = (upstream: string) =>
  Effect.tryPromise(() => fetch(upstream)).pipe(
    Effect.flatMap((response) =>
      Effect.promise(() => response.arrayBuffer()).pipe(
        Effect.zipRight(response.ok ? Effect.void : Effect.fail(`HTTP ${response.status}`))
      )
    )
  )

const replica = (upstream: string, fleet: Fleet.Fleet | undefined) =>
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
    return yield* Effect.ignore(breaker(call(upstream))).pipe(
      Effect.repeat(Schedule.spaced(`${Number(interval)} millis`))
    )
  })

// in the fleet: breakers made under the fleet layer join it; independent: no fleet in context
const run = (command: Extract<Command, { type: "run" }>) =>
  command.mode === "fleet"
    ? Effect.flatMap(Fleet.Fleet, (fleet) => replica(command.upstream, fleet)).pipe(
      Effect.scoped,
      Effect.provide(Fleet.layerRedis({ fleet: "demo", url: redisUrl, replica: name }))
    )
    : Effect.scoped(replica(command.upstream, undefined))

const program = Effect.gen(function*() {
  const commands = yield* Queue.unbounded<Command>()
  process.on("message", (message: Command) => Queue.unsafeOffer(commands, message))
  // the parent's channel closing ends the replica
  process.on("disconnect", () => process.exit(0))
  yield* send({ type: "started", replica: name })
  let running: Fiber.RuntimeFiber<unknown, unknown> | undefined
  for (;;) {
    const command = yield* Queue.take(commands)
    if (running !== undefined) {
      yield* Fiber.interrupt(running)
      running = undefined
    }
    if (command.type === "run") running = yield* Effect.fork(run(command))
    else yield* send({ type: "stopped", replica: name })
  }
})

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.None))).catch((error) => {
  console.error(error)
  process.exit(1)
})
