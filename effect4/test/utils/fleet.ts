import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { CircuitBreaker, Fleet } from "../../src/index.js"

export interface Replica {
  readonly name: string
  readonly fleet: Fleet.Fleet
  readonly breaker: CircuitBreaker.CircuitBreaker
}

/**
 * One replica in this process: its own fleet layer (its own Redis connections) and one breaker
 * named `service`, both living in the caller's scope.
 */
export const makeReplica = (options: {
  readonly url: string
  readonly fleet: string
  readonly name: string
  readonly service?: string
  readonly breaker?: CircuitBreaker.Options
  readonly fleetOptions?: Partial<Fleet.Options>
}): Effect.Effect<Replica, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Fleet.layerRedis({
      fleet: options.fleet,
      url: options.url,
      replica: options.name,
      heartbeat: "100 millis",
      commandTimeout: "200 millis",
      connectTimeout: "200 millis",
      leaseTtl: "3 seconds",
      ...options.fleetOptions
    }))
    const breaker = yield* CircuitBreaker.make({
      name: options.service ?? "upstream",
      failureThreshold: 2,
      recoveryTimeout: "300 millis",
      ...options.breaker
    }).pipe(Effect.provide(context))
    return { name: options.name, fleet: Context.get(context, Fleet.Fleet), breaker }
  })

/** Fails with `message` after `duration`: the guard of a wait that should end much sooner. */
const guard = (duration: Duration.Input, message: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(self, { duration, orElse: () => Effect.fail(message) })

/**
 * Completes once the breaker is in `state`: at once if it is, else at the transition to it. The
 * subscription is taken before the state is read, so no transition slips between. 10 s guard.
 */
export const awaitState = (
  breaker: CircuitBreaker.CircuitBreaker,
  state: CircuitBreaker.State
): Effect.Effect<void, unknown> =>
  Effect.scoped(Effect.gen(function*() {
    const changes = yield* breaker.subscribe
    if ((yield* breaker.state) === state) return
    yield* PubSub.take(changes).pipe(Effect.repeat({ until: (change) => change.to === state }))
  })).pipe(guard("10 seconds", `${breaker.service} never became ${state}`))

/** Completes once the replica's fleet reached Redis (checked every 10 ms, 10 s guard). */
export const awaitReachable = (replica: Replica): Effect.Effect<void, unknown> =>
  replica.fleet.reachable.pipe(
    Effect.repeat({ until: (reachable) => reachable, schedule: Schedule.spaced("10 millis") }),
    guard("10 seconds", `${replica.name} never reached Redis`),
    Effect.asVoid
  )

export const boom = Effect.fail("boom" as const)

/**
 * Reads `effect` every 10 ms until `done` holds for its value, and returns that value; 10 s guard.
 * For state outside the process (Redis), which announces nothing.
 */
export const pollUntil = <A, E>(effect: Effect.Effect<A, E>, done: (a: A) => boolean): Effect.Effect<A, unknown> =>
  effect.pipe(
    Effect.filterOrFail(done, () => "not yet" as const),
    Effect.retry(Schedule.spaced("10 millis")),
    guard("10 seconds", "condition never held")
  )
