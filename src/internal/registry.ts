import * as Clock from "effect/Clock"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Core from "../../core/src/statusApi.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as ServiceRegistry from "../ServiceRegistry.js"
import type { ServiceStatus } from "../ServiceStatus.js"
import { internals, InternalTypeId } from "./circuitBreaker.js"

/** @internal */
export const recentTransitionsLimit: number = Core.recentTransitionsLimit

interface Entry {
  readonly status: Effect.Effect<ServiceStatus>
  readonly breaker: CircuitBreaker.CircuitBreaker | undefined
  /** Oldest first, at most `recentTransitionsLimit`; written only by the entry's consumer fiber. */
  readonly transitions: Array<CircuitBreaker.StateChange>
}

const record = (entry: Entry, change: CircuitBreaker.StateChange): void => {
  entry.transitions.push(change)
  if (entry.transitions.length > recentTransitionsLimit) entry.transitions.shift()
}

// Only the breakers made by this library carry the internals; a look-alike simply has no probe time.
const nextProbeIn = (
  breaker: CircuitBreaker.CircuitBreaker | undefined,
  status: ServiceStatus
): Effect.Effect<Option.Option<Duration.Duration>> =>
  breaker === undefined || status.state !== "open" || !(InternalTypeId in breaker)
    ? Effect.succeedNone
    : Effect.map(
      internals(breaker).rejection,
      Option.flatMap((rejection) => rejection.state === "open" ? Option.some(rejection.retryAfter) : Option.none())
    )

const detailsOf = (entry: Entry): Effect.Effect<ServiceRegistry.ServiceDetails> =>
  Effect.flatMap(entry.status, (status) =>
    Effect.map(nextProbeIn(entry.breaker, status), (probe) => ({
      status,
      nextProbeIn: probe,
      recentTransitions: entry.transitions.slice()
    })))

/** @internal */
export const make = (): ServiceRegistry.Registry => {
  // insertion-ordered; entries are added and removed only through acquireRelease below
  const entries = new Map<string, Entry>()

  const add = (id: string, entry: Entry) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        if (entries.has(id)) {
          return Effect.fail(
            ConfigError.InvalidData(["id"], Core.duplicateIdMessage(id))
          )
        }
        entries.set(id, entry)
        return Effect.void
      }),
      () =>
        Effect.sync(() => {
          if (entries.get(id) === entry) entries.delete(id)
        })
    )

  // Subscribed before `register` completes, so no transition after it is missed; the consumer is
  // forked interruptible because `register` may run inside an uninterruptible region (a layer's
  // acquisition), and it must end with the registration's scope.
  const follow = (entry: Entry, breaker: CircuitBreaker.CircuitBreaker) =>
    Effect.flatMap(breaker.subscribe, (changes) =>
      Queue.take(changes).pipe(
        Effect.map((change) => record(entry, change)),
        Effect.forever,
        Effect.interruptible,
        Effect.forkScoped
      ))

  return {
    register: (id, status, breaker) => {
      const entry: Entry = { status, breaker, transitions: [] }
      const registered = add(id, entry)
      return breaker === undefined ? registered : Effect.zipRight(registered, Effect.asVoid(follow(entry, breaker)))
    },
    get: (id) =>
      Effect.suspend(() => {
        const entry = entries.get(id)
        return entry === undefined ? Effect.succeedNone : Effect.map(entry.status, Option.some)
      }),
    statuses: Effect.suspend(() =>
      Effect.map(
        Effect.forEach(Array.from(entries), ([id, entry]) => Effect.map(entry.status, (s) => [id, s] as const)),
        (pairs) => Object.fromEntries(pairs)
      )
    ),
    details: (id) =>
      Effect.suspend(() => {
        const entry = entries.get(id)
        return entry === undefined ? Effect.succeedNone : Effect.map(detailsOf(entry), Option.some)
      }),
    snapshot: Effect.suspend(() => {
      const listed = Array.from(entries)
      // the time is read after the statuses, so that no timestamp in the snapshot is after it
      return Effect.flatMap(
        Effect.forEach(listed, ([id, entry]) => Effect.map(detailsOf(entry), (details) => [id, details] as const)),
        (pairs) =>
          Effect.map(Clock.currentTimeMillis, (takenAt): ServiceRegistry.Snapshot => ({
            takenAt: new Date(takenAt),
            services: Object.fromEntries(pairs)
          }))
      )
    })
  }
}
