/**
 * Fleet mode as Effect 4's `CircuitBreakerStore` (`effect/persistence/CircuitBreaker`). Each key
 * the breaker admits becomes, on first use, a local machine (the core's `machine.ts`) that joins
 * the fleet under the key's name, exactly as one of our breakers would: `admit`, `record` and
 * `state` read and step that machine and nothing else (no Redis on a call's path); the fleet's
 * fibers (`fleet.ts`) propose its openings, adopt the fleet's, and hold the probe lease.
 *
 * How the store's contract maps onto the machine:
 * - `generation` (the fencing token of `record`) encodes the machine's generation and whether the
 *   permit is the probe's, above a base that grows across a key's lives, so an outcome from a
 *   dropped key never lands on the key made again after it.
 * - `tripPolicy` becomes a tripping strategy for the step that records the outcome (consecutive:
 *   a streak only a success resets; rate: the last `size` outcomes), and `openFor` the length of
 *   the opening that step may make.
 * - `Ignored` neither counts nor resets (the machine's `Silent`): a probe so ended frees its slot.
 * - `consecutiveOpenings` survives a close and is reset by the first admission once the circuit
 *   has stayed closed as long as it was last open, as Effect 4's stores do.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as EffectBreaker from "effect/persistence/CircuitBreaker"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import type { TrippingStrategy } from "../../../core/src/types.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as FleetApi from "../Fleet.js"
import * as ServiceStatus from "../ServiceStatus.js"
import type { FleetHook } from "./circuitBreaker.js"
import * as Fleet from "./fleet.js"
import * as FleetMembership from "./fleetMembership.js"
import * as Machine from "./machine.js"
import * as OptionNames from "./optionNames.js"
import * as Time from "./time.js"
import * as validate from "./validate.js"

// -----------------------------------------------------------------------------
// Pure part: trip policies as strategies, fencing tokens, the backoff count, expiry
// -----------------------------------------------------------------------------

/** What both trip policies count: the streak of failures and the ring of the last outcomes. */
export interface PolicyState {
  readonly streak: number
  /** `true` for a failure, oldest first (kept only under a rate policy). */
  readonly ring: ReadonlyArray<boolean>
  readonly failures: number
}

const empty: PolicyState = { streak: 0, ring: [], failures: 0 }

const pushed = (state: PolicyState, failed: boolean, size: number): PolicyState => {
  const ring = state.ring.length >= size ? state.ring.slice(state.ring.length - size + 1) : state.ring.slice()
  const dropped = state.ring.length - ring.length
  let failures = state.failures + (failed ? 1 : 0)
  for (let i = 0; i < dropped; i++) if (state.ring[i]) failures--
  ring.push(failed)
  return { streak: failed ? state.streak + 1 : 0, ring, failures }
}

const strategies = new WeakMap<EffectBreaker.TripPolicy, TrippingStrategy<PolicyState>>()

/**
 * The tripping strategy of an Effect 4 trip policy, as its stores apply it: `Consecutive` opens
 * after `failures` failures in a row (only a success resets the streak); `Rate` keeps the last
 * `size` outcomes and opens once at least `minimumCalls` are kept, some failed, and the failed
 * fraction reaches `threshold` (a success may then trip it).
 *
 * @internal
 */
export const strategyOf = (policy: EffectBreaker.TripPolicy): TrippingStrategy<PolicyState> => {
  const known = strategies.get(policy)
  if (known !== undefined) return known
  const strategy: TrippingStrategy<PolicyState> = policy._tag === "Consecutive"
    ? {
      name: `consecutive(${policy.failures})`,
      initial: () => empty,
      onSuccess: (state) => state.streak === 0 ? state : { ...state, streak: 0 },
      onFailure: (state) => ({ ...state, streak: state.streak + 1 }),
      shouldTrip: (state) => state.streak >= policy.failures
    }
    : {
      name: `rate(${policy.threshold}, ${policy.minimumCalls}/${policy.size})`,
      initial: () => empty,
      onSuccess: (state) => pushed(state, false, policy.size),
      onFailure: (state) => pushed(state, true, policy.size),
      shouldTrip: (state) =>
        state.ring.length >= policy.minimumCalls && state.failures > 0 &&
        state.failures / state.ring.length >= policy.threshold,
      onSuccessMayTrip: true
    }
  strategies.set(policy, strategy)
  return strategy
}

/** The strategy of the steps that record nothing (admissions, the fleet's events): never trips. */
const idle: TrippingStrategy<PolicyState> = {
  name: "none",
  initial: () => empty,
  onSuccess: (state) => state,
  onFailure: (state) => state,
  shouldTrip: () => false
}

/**
 * The fencing token of a permit: `base + 2 × generation + (probe ? 1 : 0)`.
 *
 * @internal
 */
export const encodeGeneration = (base: number, ticket: Machine.Ticket): number =>
  base + 2 * ticket.generation + (ticket.probe ? 1 : 0)

/**
 * The permit a token stands for, or `undefined` for a token of an earlier life of the key.
 *
 * @internal
 */
export const decodeGeneration = (
  base: number,
  token: number
): { readonly generation: number; readonly probe: boolean } | undefined => {
  if (!Number.isSafeInteger(token) || token < base) return undefined
  const relative = token - base
  return { generation: Math.floor(relative / 2), probe: relative % 2 === 1 }
}

/**
 * The backoff count kept beside the machine: openings since the count last reset, how long the
 * last one was, and when a close lets it reset (monotonic milliseconds).
 *
 * @internal
 */
export interface Backoff {
  readonly openings: number
  readonly lastOpenForMillis: number
  readonly resetAt: number
}

/** @internal */
export const initialBackoff: Backoff = { openings: 0, lastOpenForMillis: 0, resetAt: 0 }

/**
 * The backoff count after a step's transitions: each opening (local or adopted) counts and
 * remembers how long it is; a close sets the reset deadline to now plus the last opening's length.
 *
 * @internal
 */
export const backoffAfter = (
  backoff: Backoff,
  transitions: ReadonlyArray<Machine.Transition>,
  machine: Machine.Machine<unknown>,
  now: number
): Backoff => {
  let { lastOpenForMillis, openings, resetAt } = backoff
  for (const transition of transitions) {
    if (transition.to === "open") {
      openings++
      lastOpenForMillis = Math.max(0, machine.openUntil - now)
    } else if (transition.to === "closed") {
      resetAt = now + lastOpenForMillis
    }
  }
  return { openings, lastOpenForMillis, resetAt }
}

/**
 * The backoff count as an admission in `closed` sees it: reset once the circuit has stayed closed
 * as long as it was last open.
 *
 * @internal
 */
export const backoffAtAdmission = (backoff: Backoff, now: number): Backoff =>
  backoff.openings > 0 && now >= backoff.resetAt ? { ...backoff, openings: 0 } : backoff

/**
 * Whether a key idle since `lastActivity` is dropped at `now`: a closed key after `idleMillis`, an
 * open one that long past its opening, a `half_open` one only with no probe running.
 *
 * @internal
 */
export const isExpired = (
  machine: Machine.Machine<unknown>,
  lastActivity: number,
  now: number,
  idleMillis: number
): boolean => {
  switch (machine.state) {
    case "closed":
      return now - lastActivity >= idleMillis
    case "open":
      return now - Math.max(lastActivity, machine.openUntil) >= idleMillis
    case "half_open":
      return machine.probesInFlight === 0 && now - lastActivity >= idleMillis
  }
}

const edgeState = (state: Machine.Machine<unknown>["state"]): "Closed" | "Open" | "HalfOpen" =>
  state === "closed" ? "Closed" : state === "open" ? "Open" : "HalfOpen"

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

/** The store's own options, beside the fleet's. @internal */
type StoreOptions = Pick<FleetApi.StoreOptions, "idleTimeToLive" | "maxKeys" | "maxOpenDuration">

/** @internal */
export const storeDefaults = {
  idleTimeToLive: "1 hour",
  maxKeys: 1_000,
  maxOpenDuration: "1 hour"
} as const

/** The store's settings, decoded. @internal */
export interface StoreSettings {
  readonly idleMillis: number
  readonly maxKeys: number
  readonly maxOpenMillis: number
}

const storeSettings = (options: StoreOptions): Effect.Effect<StoreSettings, Config.ConfigError> =>
  Effect.gen(function*() {
    const millis = (field: string, value: unknown, fallback: Duration.Input) =>
      Effect.map(validate.positiveDuration(field, value, fallback), Duration.toMillis)
    const idleMillis = yield* millis("idleTimeToLive", options.idleTimeToLive, storeDefaults.idleTimeToLive)
    const maxKeys = yield* validate.positiveInteger("maxKeys", options.maxKeys, storeDefaults.maxKeys)
    const maxOpenMillis = yield* millis("maxOpenDuration", options.maxOpenDuration, storeDefaults.maxOpenDuration)
    return {
      idleMillis: Math.min(idleMillis, Number.MAX_SAFE_INTEGER),
      maxKeys,
      maxOpenMillis: Math.min(maxOpenMillis, Number.MAX_SAFE_INTEGER)
    }
  })

// -----------------------------------------------------------------------------
// The shell
// -----------------------------------------------------------------------------

/** A probe permit, until its outcome is recorded or its admission's scope closes. */
interface ProbePermit {
  readonly ticket: Machine.Ticket
  settled: boolean
}

/** One key: its machine, what Effect 4's contract adds to it, and its fleet membership. */
interface Entry extends FleetHook {
  current: Machine.Machine<PolicyState>
  backoff: Backoff
  /** The base of this life's fencing tokens. */
  readonly base: number
  lastActivity: number
  /** Calls admitted and not ended (their admission's scope open): a key with one is in use. */
  inFlight: number
  /** Set when the machine entered `half_open` away from an admission: the next probe reports it. */
  halfOpenUnreported: boolean
  probe: ProbePermit | undefined
  readonly changes: PubSub.PubSub<CircuitBreaker.StateChange>
  readonly scope: Scope.Closeable
  /** Done once the key has left the fleet (its scope closed). */
  readonly left: Deferred.Deferred<void>
}

/**
 * The store over a fleet, for the life of the scope.
 *
 * @internal
 */
export const makeStore = (
  fleet: FleetMembership.FleetService,
  settings: StoreSettings
): Effect.Effect<EffectBreaker.CircuitBreakerStore["Service"], never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const layerScope = yield* Effect.scope
    const now = () => Time.monotonicMillis(clock)
    const entries = new Map<string, Entry>()
    // tokens issued by every earlier life of every key stay below this
    let nextBase = 0
    let lastSweep = now()

    const adoptConfig: Machine.Config<PolicyState> = {
      strategy: idle,
      recoveryTimeoutMillis: settings.maxOpenMillis,
      halfOpenMaxProbes: 1
    }

    /** Applies a step to the entry: its machine, backoff count, and the announcement of its transitions. */
    const apply = (entry: Entry, step: Machine.Step<PolicyState>, at: number): void => {
      entry.current = step.machine
      if (step.transitions.length === 0) return
      entry.backoff = backoffAfter(entry.backoff, step.transitions, step.machine, at)
      for (const transition of step.transitions) {
        if (transition.to === "half_open") entry.halfOpenUnreported = true
        else entry.halfOpenUnreported = false
        PubSub.publishUnsafe(entry.changes, {
          service: entry.name,
          from: transition.from,
          to: transition.to,
          at: new Date(transition.at)
        })
      }
    }

    const stepEntry = (entry: Entry, event: Machine.Event, config: Machine.Config<PolicyState>) => {
      const at = now()
      const step = Machine.step(entry.current, event, at, config, clock.currentTimeMillisUnsafe())
      apply(entry, step, at)
      return step
    }

    // the keys dropped since the last admission, whose scopes that admission closes
    let retired: Array<Entry> = []
    // keys whose fleet membership is still being closed: a new life of the key joins after it
    const leaving = new Map<string, Deferred.Deferred<void>>()
    const retire = (entry: Entry): void => {
      nextBase = Math.max(nextBase, entry.base + 2 * entry.current.generation + 2)
      entries.delete(entry.name)
      leaving.set(entry.name, entry.left)
      retired.push(entry)
    }
    // leaving the fleet is not the caller's business: it runs in the store's scope
    const closeRetired = Effect.suspend(() => {
      const gone = retired
      retired = []
      return Effect.asVoid(Effect.forkIn(
        Effect.forEach(gone, (entry) =>
          Effect.andThen(
            Scope.close(entry.scope, Exit.void),
            Effect.sync(() => {
              Deferred.doneUnsafe(entry.left, Effect.void)
              if (leaving.get(entry.name) === entry.left) leaving.delete(entry.name)
            })
          ), { discard: true }),
        layerScope
      ))
    })

    /** Whether the key has expired at `at`: a call in flight is a use, as a probe is. */
    const expired = (entry: Entry, at: number): boolean =>
      entry.inFlight === 0 && isExpired(entry.current, entry.lastActivity, at, settings.idleMillis)

    const sweepEvery = Math.min(settings.idleMillis, 60_000)
    /** Retires the expired keys, at most once per `sweepEvery` unless `force` (a full table, the timed sweep). */
    const sweep = (at: number, force = false): void => {
      if (!force && at - lastSweep < sweepEvery) return
      lastSweep = at
      for (const entry of entries.values()) {
        if (expired(entry, at)) retire(entry)
      }
    }

    // keys expire with no traffic too: a sweep on the Clock, for the life of the layer
    yield* Effect.forkIn(
      Effect.forever(
        Effect.andThen(
          Effect.sleep(Duration.millis(sweepEvery)),
          Effect.suspend(() => {
            sweep(now(), true)
            return closeRetired
          })
        )
      ),
      layerScope
    )

    /** Holds the entry in use for the admission's scope (the call), its end a use. */
    const holdEntry = (entry: Entry): Effect.Effect<void, never, Scope.Scope> =>
      Effect.suspend(() => {
        entry.inFlight++
        return Effect.addFinalizer(() =>
          Effect.sync(() => {
            entry.inFlight--
            entry.lastActivity = Math.max(entry.lastActivity, now())
          })
        )
      })

    const create = (key: string, at: number): Effect.Effect<Entry, EffectBreaker.CircuitBreakerError> =>
      Effect.gen(function*() {
        if (entries.size >= settings.maxKeys) {
          return yield* new EffectBreaker.CircuitBreakerError({
            reason: new EffectBreaker.CircuitBreakerStoreError({
              message: `the fleet store tracks maxKeys (${settings.maxKeys}) keys already: "${key}" runs unrecorded`
            })
          })
        }
        const scope = yield* Scope.make()
        const previous = leaving.get(key)
        const changes = yield* PubSub.sliding<CircuitBreaker.StateChange>(16)
        const entry: Entry = {
          name: key,
          config: adoptConfig as unknown as Machine.Config<unknown>,
          current: Machine.initial(adoptConfig, at, clock.currentTimeMillisUnsafe()),
          backoff: initialBackoff,
          base: nextBase,
          lastActivity: at,
          inFlight: 0,
          halfOpenUnreported: false,
          probe: undefined,
          changes,
          scope,
          left: Deferred.makeUnsafe<void>(),
          onLeaseAsked: undefined,
          onProbeSilent: undefined,
          machine: () => entry.current,
          step: (event) => Effect.sync(() => stepEntry(entry, event, adoptConfig)),
          observe: Effect.sync(() => stepEntry(entry, Machine.observeEvent, adoptConfig).machine)
        }
        nextBase += 2
        entries.set(key, entry)
        // what the fleet reads of a breaker: its transitions and its status
        const member = {
          subscribe: PubSub.subscribe(changes),
          status: Effect.sync(() =>
            ServiceStatus.fromMillis({
              service: key,
              state: entry.current.state,
              failureCount: entry.current.failureCount,
              lastFailure: entry.current.lastFailure,
              lastStateChange: entry.current.lastStateChange
            })
          )
        } as unknown as CircuitBreaker.CircuitBreaker
        yield* Scope.addFinalizer(scope, PubSub.shutdown(changes))
        // the key joins the fleet in the background (after its previous life has left it): the
        // first call does not wait for it
        yield* Effect.forkIn(
          Effect.andThen(
            previous === undefined ? Effect.void : Deferred.await(previous),
            Scope.provide(fleet.join(member, entry), scope)
          ),
          scope
        )
        return entry
      })

    /** The key's entry unless it has expired (left for the next admission to drop). */
    const live = (key: string, at: number): Entry | undefined => {
      const entry = entries.get(key)
      return entry === undefined || expired(entry, at)
        ? undefined
        : entry
    }

    const admitEntry = (
      entry: Entry,
      key: string,
      at: number
    ): Effect.Effect<EffectBreaker.Admission, EffectBreaker.CircuitBreakerError, Scope.Scope> => {
      entry.lastActivity = at
      if (entry.current.state === "closed") {
        entry.backoff = backoffAtAdmission(entry.backoff, at)
        return Effect.succeed({
          generation: encodeGeneration(entry.base, entry.current.callTicket),
          probe: false,
          consecutiveOpenings: entry.backoff.openings,
          transition: undefined
        })
      }
      const step = stepEntry(entry, Machine.admitEvent, adoptConfig)
      const decision = step.decision
      if (decision === undefined || decision._tag === "Guarded") {
        return Effect.die(new Error(`fleet store: an admission got no decision in ${entry.current.state}`))
      }
      if (decision._tag === "Rejected") {
        if (decision.asksLease === true) entry.onLeaseAsked?.()
        return Effect.fail(
          new EffectBreaker.CircuitBreakerError({
            reason: decision.state === "open"
              ? new EffectBreaker.CircuitOpen({
                key,
                retryAfter: Duration.millis(Math.max(0, Math.min(decision.retryAfterMillis, Number.MAX_SAFE_INTEGER)))
              })
              : new EffectBreaker.CircuitHalfOpen({ key })
          })
        )
      }
      const transition: EffectBreaker.Transition | undefined = decision.probe && entry.halfOpenUnreported
        ? { key, from: "Open", to: "HalfOpen" }
        : undefined
      const admission: EffectBreaker.Admission = {
        generation: encodeGeneration(entry.base, decision),
        probe: decision.probe,
        consecutiveOpenings: entry.backoff.openings,
        transition
      }
      if (!decision.probe) return Effect.succeed(admission)
      entry.halfOpenUnreported = false
      const permit: ProbePermit = { ticket: decision, settled: false }
      entry.probe = permit
      // a probe whose outcome never arrives (its fiber interrupted around the store) gives its
      // permit back when the admission's scope closes, and the fleet's lease goes back to the
      // fleet at once (no probe runs here any more)
      return Effect.as(
        Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (permit.settled) return
            permit.settled = true
            if (entries.get(key) !== entry) return
            stepEntry(entry, { _tag: "Silent", ticket: permit.ticket }, adoptConfig)
            entry.onProbeSilent?.()
          })
        ),
        admission
      )
    }

    const admit = (
      key: string
    ): Effect.Effect<EffectBreaker.Admission, EffectBreaker.CircuitBreakerError, Scope.Scope> =>
      Effect.suspend(() => {
        const at = now()
        sweep(at)
        const entry = entries.get(key)
        if (entry !== undefined && !expired(entry, at)) {
          const admitted = Effect.tap(admitEntry(entry, key, at), () => holdEntry(entry))
          return retired.length === 0 ? admitted : Effect.andThen(closeRetired, admitted)
        }
        if (entry !== undefined) retire(entry)
        // a full table is swept now, whenever it was last swept: expired keys do not hold places
        if (entries.size >= settings.maxKeys) sweep(at, true)
        return Effect.andThen(
          closeRetired,
          Effect.flatMap(create(key, at), (made) => Effect.tap(admitEntry(made, key, at), () => holdEntry(made)))
        )
      })

    const record = (options: {
      readonly key: string
      readonly generation: number
      readonly outcome: "Success" | "Failure" | "Ignored"
      readonly tripPolicy: EffectBreaker.TripPolicy
      readonly openFor: Duration.Duration
    }): Effect.Effect<EffectBreaker.Transition | undefined, EffectBreaker.CircuitBreakerError> =>
      Effect.sync(() => {
        const { key, outcome } = options
        const at = now()
        const entry = live(key, at)
        if (entry === undefined) return undefined
        const permit = decodeGeneration(entry.base, options.generation)
        if (permit === undefined || permit.generation !== entry.current.generation) return undefined
        entry.lastActivity = at
        const ticket = permit.probe ? entry.current.probeTicket : entry.current.callTicket
        if (permit.probe) {
          const probe = entry.probe
          if (probe === undefined || probe.settled || probe.ticket.generation !== permit.generation) return undefined
          probe.settled = true
        }
        const openForMillis = Math.max(
          0,
          Math.min(Math.ceil(Duration.toMillis(options.openFor)), Number.MAX_SAFE_INTEGER)
        )
        const config: Machine.Config<PolicyState> = {
          strategy: strategyOf(options.tripPolicy),
          recoveryTimeoutMillis: openForMillis,
          halfOpenMaxProbes: 1
        }
        const event: Machine.Event = outcome === "Ignored"
          ? { _tag: "Silent", ticket }
          : { _tag: outcome, ticket }
        const from = entry.current.state
        const step = stepEntry(entry, event, config)
        if (permit.probe && event._tag === "Silent") entry.onProbeSilent?.()
        const to = step.machine.state
        if (from === to) return undefined
        if (to === "open") {
          return {
            key,
            from: from === "closed" ? "Closed" : "HalfOpen",
            to: "Open",
            retryAfter: options.openFor,
            consecutiveOpenings: entry.backoff.openings
          } as const
        }
        return to === "closed" && from === "half_open" ? { key, from: "HalfOpen", to: "Closed" } as const : undefined
      })

    const state = (key: string): Effect.Effect<EffectBreaker.State, EffectBreaker.CircuitBreakerError> =>
      Effect.sync((): EffectBreaker.State => {
        const at = now()
        const entry = live(key, at)
        if (entry === undefined) return { _tag: "Closed", key }
        const machine = entry.current
        switch (edgeState(machine.state)) {
          case "Closed":
            return { _tag: "Closed", key }
          case "Open":
            return {
              _tag: "Open",
              key,
              retryAfter: Duration.millis(Math.max(0, Math.min(machine.openUntil - at, Number.MAX_SAFE_INTEGER))),
              consecutiveOpenings: entry.backoff.openings
            }
          case "HalfOpen":
            return {
              _tag: "HalfOpen",
              key,
              probing: machine.probesInFlight > 0,
              consecutiveOpenings: entry.backoff.openings
            }
        }
      })

    // every key leaves the fleet with the store
    yield* Scope.addFinalizer(
      layerScope,
      Effect.suspend(() =>
        Effect.forEach(Array.from(entries.values()), (entry) => Scope.close(entry.scope, Exit.void), {
          discard: true
        })
      )
    )

    return { admit, record, state }
  })

/** @internal */
export type Options = Fleet.Options & FleetApi.StoreOptions

/**
 * The store and the fleet it runs on, for the life of the layer.
 *
 * @internal
 */
export const make = (
  options: Options
): Effect.Effect<
  Context.Context<EffectBreaker.CircuitBreakerStore | FleetMembership.FleetService>,
  Config.ConfigError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* validate.invalid("fleet", "fleet options must be an object with a fleet name and a url")
    }
    const { idleTimeToLive, maxKeys, maxOpenDuration, ...fleetOptions } = options
    const { connection: _connection, ...given } = options
    yield* validate.knownNames(given, OptionNames.fleetStore)
    const settings = yield* storeSettings({ idleTimeToLive, maxKeys, maxOpenDuration })
    const fleet = yield* Fleet.make(fleetOptions)
    const store = yield* makeStore(fleet, settings)
    return Context.make(EffectBreaker.CircuitBreakerStore, store).pipe(
      Context.add(FleetMembership.FleetMembership, fleet)
    )
  })
