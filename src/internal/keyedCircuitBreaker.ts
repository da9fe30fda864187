/**
 * Keyed circuits: one breaker per key, made on first use, in its own scope (closed when the key
 * is dropped). The table's bookkeeping (order of use, idle expiry, the cap's choice) is the
 * core's `KeyTable`; this shell makes and drops the breakers, sweeps idle keys on its own fiber
 * (sleeping on the keyed breaker's `Clock` until the next key may expire) and lists keys in a
 * `ServiceRegistry` once `register` is called.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Core from "../../core/src/keyed.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as KeyedCircuitBreaker from "../KeyedCircuitBreaker.js"
import * as ServiceRegistry from "../ServiceRegistry.js"
import type { ServiceUnavailable } from "../ServiceUnavailable.js"
import * as BreakerInternal from "./circuitBreaker.js"
import * as OptionNames from "./optionNames.js"
import * as Time from "./time.js"
import * as validate from "./validate.js"

/** @internal */
export const TypeId: KeyedCircuitBreaker.TypeId = Symbol.for(
  "effect-resilience/KeyedCircuitBreaker"
) as KeyedCircuitBreaker.TypeId

type Held = Core.Slot<Keyed>

interface Keyed {
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly scope: Scope.CloseableScope
}

/** What the client uses: the breaker of a key for the length of `use`. @internal */
export interface KeyedInternals {
  readonly withBreaker: <A, E, R>(
    key: string,
    use: (breaker: CircuitBreaker.CircuitBreaker) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R>
}

/** @internal */
export const InternalTypeId: unique symbol = Symbol.for("effect-resilience/KeyedCircuitBreaker/internals")

/** @internal */
export const internals = (keyed: KeyedCircuitBreaker.KeyedCircuitBreaker): KeyedInternals =>
  (keyed as unknown as { readonly [InternalTypeId]: KeyedInternals })[InternalTypeId]

const settings = (
  options: KeyedCircuitBreaker.Options
): Effect.Effect<Core.KeyedSettings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    yield* validate.knownNames(options, OptionNames.keyedBreaker)
    const idle = options.idleTimeToLive === undefined
      ? undefined
      : yield* validate.toEither(validate.checkDurationMillis(["idleTimeToLive"], options.idleTimeToLive))
    return yield* validate.toEither(Core.checkSettings(idle, options.maxKeys, validate.show))
  })

/**
 * Makes a keyed breaker. `overflow`, when given, is the breaker of calls that find no place
 * (the client passes its own breaker); otherwise one is made when first needed.
 *
 * @internal
 */
export const make = (
  options: KeyedCircuitBreaker.Options = {},
  overflowGiven?: CircuitBreaker.CircuitBreaker
): Effect.Effect<KeyedCircuitBreaker.KeyedCircuitBreaker, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const keyedSettings = yield* settings(options)
    const { idleTimeToLive: _idle, maxKeys: _max, ...breakerOptions } = options
    const name = breakerOptions.name ?? "circuit-breaker"
    const storeKey = breakerOptions.storeKey
    const optionsOf = (key: string): CircuitBreaker.Options => ({
      ...breakerOptions,
      name: Core.registryId(name, key),
      ...(storeKey === undefined ? {} : { storeKey: Core.registryId(storeKey, key) })
    })
    // checked once, here: every key's breaker is made with the same options
    yield* BreakerInternal.checkOptions({ ...breakerOptions, name })

    const clock: Clock.Clock = yield* Effect.clock
    const now = () => Time.monotonicMillis(clock)
    const parent = yield* Effect.scope
    const table = new Core.KeyTable<Keyed>()
    const lock = yield* Effect.makeSemaphore(1)
    let registry: { readonly registry: ServiceRegistry.Registry; readonly id: string } | undefined
    let overflow: CircuitBreaker.CircuitBreaker | undefined = overflowGiven
    let closed = false

    const listKey = (id: string, breaker: CircuitBreaker.CircuitBreaker, scope: Scope.Scope) =>
      registry === undefined ? Effect.void : registry.registry.register(id, breaker.status, breaker).pipe(
        Scope.extend(scope),
        // an id already listed (a key "*" beside the overflow, another entry): that key is not listed
        Effect.catchAll((error) => Effect.logWarning(`Keyed circuit breaker '${name}': ${String(error)}`))
      )

    // closing a dropped key's scope (its timers, a store write given up to storeTimeout) is not a
    // caller's business: it runs on a fiber of the keyed breaker's scope
    const closeDropped = (gone: ReadonlyArray<Keyed>): Effect.Effect<void> =>
      gone.length === 0 ? Effect.void : Effect.asVoid(Effect.forkIn(
        Effect.forEach(gone, (keyed) => Scope.close(keyed.scope, Exit.void), { discard: true }),
        parent
      ))

    // the expired keys leave the table in the step that finds them: a call starting meanwhile
    // makes a new breaker. An isolated key stays (isolation is an operator's act, never undone by
    // the table); an open key stays until its opening is over and idle for idleTimeToLive after it
    const sweep: Effect.Effect<void> = Effect.suspend(() =>
      closeDropped(
        table.takeExpired(now(), keyedSettings.idleMillis, (keyed) => !isolatedNow(keyed.breaker), heldUntil)
          .map(([, keyed]) => keyed)
      )
    )

    const sweeper: Effect.Effect<never> = Effect.forever(Effect.suspend(() => {
      const at = now()
      const next = table.nextExpiry(at, keyedSettings.idleMillis, heldUntil) ?? at + keyedSettings.idleMillis
      return Effect.zipRight(Effect.sleep(Duration.millis(Math.max(1, next - at))), sweep)
    }))
    yield* Effect.forkIn(Effect.interruptible(sweeper), parent)
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const gone = table.entries()
        for (const [key] of gone) table.remove(key)
        return Effect.forEach(gone, ([, keyed]) => Scope.close(keyed.scope, Exit.void), { discard: true })
      })
    )

    // the first call on the overflow is logged at Warning, the later ones at Debug
    let overflowUsed = false
    const theOverflow = (key: string): Effect.Effect<CircuitBreaker.CircuitBreaker> =>
      Effect.gen(function*() {
        const line = Core.overflowLine(name, key, keyedSettings.maxKeys)
        if (overflowUsed) yield* Effect.logDebug(line)
        else yield* Effect.logWarning(line)
        overflowUsed = true
        if (overflow !== undefined) return overflow
        const made = yield* Effect.orDie(
          Scope.extend(BreakerInternal.make(optionsOf("*"), name), parent)
        )
        overflow = made
        if (registry !== undefined) yield* listKey(Core.overflowRegistryId(registry.id), made, parent)
        return made
      })

    /**
     * The breaker of a key not in the table, made under the lock, and its slot (the overflow has
     * none: it is not in the table). Dropped keys leave the table here and close in the background.
     */
    const create = (key: string): Effect.Effect<readonly [CircuitBreaker.CircuitBreaker, Held | undefined]> =>
      lock.withPermits(1)(Effect.suspend(() => {
        const found = table.use(key, now())
        if (found !== undefined) return Effect.succeed([found.value.breaker, found] as const)
        return Effect.gen(function*() {
          yield* sweep
          const admission = table.admission(
            keyedSettings,
            (keyed) => BreakerInternal.internals(keyed.breaker).currentState() === "closed"
          )
          if (admission._tag === "Full") return [yield* theOverflow(key), undefined] as const
          if (admission._tag === "Evict") {
            const evicted = table.remove(admission.key)
            if (evicted !== undefined) yield* closeDropped([evicted])
          }
          const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
          // the options were checked by `make`: a key's breaker cannot fail them
          const breaker = yield* Effect.orDie(Scope.extend(BreakerInternal.make(optionsOf(key), name), scope))
          const slot = table.add(key, { breaker, scope }, now())
          if (registry !== undefined) yield* listKey(Core.registryId(registry.id, key), breaker, scope)
          return [breaker, slot] as const
        })
      }))

    // the key is held from the moment it is found (or made) until `use` ends, interrupted or not
    const withBreaker = <A, E, R>(
      given: string,
      use: (breaker: CircuitBreaker.CircuitBreaker) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        if (closed) return Effect.interrupt
        const key = Core.keyOf(given)
        return Effect.acquireUseRelease(
          Effect.suspend(() => {
            const found = table.use(key, now())
            return found === undefined ? create(key) : Effect.succeed([found.value.breaker, found] as const)
          }),
          ([breaker]) => use(breaker),
          // the slot this call holds, not the key's name: a key dropped and made again meanwhile
          // is another slot, untouched by this call's end
          ([, held]) => held === undefined ? Effect.void : Effect.sync(() => table.release(held, now()))
        )
      })

    const statuses = Effect.suspend(() =>
      Effect.forEach(
        table.entries().slice().sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
        ([key, keyed]) => Effect.map(keyed.breaker.status, (status) => ({ key, status }))
      )
    )

    const keyedBreaker: KeyedCircuitBreaker.KeyedCircuitBreaker & { readonly [InternalTypeId]: KeyedInternals } = {
      [TypeId]: TypeId,
      [InternalTypeId]: { withBreaker },
      name,
      call: <A, E, R>(key: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R> =>
        withBreaker(key, (breaker) => breaker(self)),
      breaker: (key) => withBreaker(key, Effect.succeed),
      keys: Effect.sync(() => table.entries().map(([key]) => key).sort()),
      statuses,
      overflow: Effect.sync(() => overflow),
      register: (id) =>
        Effect.flatMap(ServiceRegistry.ServiceRegistry, (found) =>
          lock.withPermits(1)(Effect.suspend(() => {
            registry = { registry: found, id: id ?? name }
            const listed = registry.id
            return Effect.zipRight(
              Effect.forEach(
                table.entries(),
                ([key, keyed]) => listKey(Core.registryId(listed, key), keyed.breaker, keyed.scope),
                { discard: true }
              ),
              overflow === undefined || overflow === overflowGiven
                ? Effect.void
                : listKey(Core.overflowRegistryId(listed), overflow, parent)
            )
          })))
    }
    return keyedBreaker
  })

/** Whether a breaker is isolated now (read without an effect). */
const isolatedNow = (breaker: CircuitBreaker.CircuitBreaker): boolean => BreakerInternal.isolatedNow(breaker)

/** When a key's last opening ends or ended (monotonic millis; `-Infinity` when it is closed). */
const heldUntil = (keyed: Keyed): number => BreakerInternal.openUntilNow(keyed.breaker)
