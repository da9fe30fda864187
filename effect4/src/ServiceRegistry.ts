/**
 * Where the clients (and breakers) of an app list themselves, so that one endpoint can report
 * every service's status.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { CircuitBreaker, StateChange } from "./CircuitBreaker.js"
import * as internal from "./internal/registry.js"
import type { ServiceStatus } from "./ServiceStatus.js"

/**
 * How many transitions the registry keeps per entry registered with a breaker: the last 20.
 *
 * @since 0.1.0
 * @category constants
 */
export const recentTransitionsLimit: number = internal.recentTransitionsLimit

/**
 * What the registry knows of one entry beyond its status.
 *
 * - `status`: the entry's status, read when the snapshot was taken.
 * - `nextProbeIn`: when the entry's breaker is `open`, the time left until it lets the next
 *   probe through (`Duration.infinity` while it is isolated); `None` in any other state, and
 *   for an entry registered without a breaker.
 * - `recentTransitions`: the breaker's last {@link recentTransitionsLimit} transitions since it
 *   was registered, oldest first; empty for an entry registered without a breaker.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServiceDetails {
  readonly status: ServiceStatus
  readonly nextProbeIn: Option.Option<Duration.Duration>
  readonly recentTransitions: ReadonlyArray<StateChange>
}

/**
 * Every entry of a registry at one moment: `services` keyed by id, in registration order, and
 * `takenAt`, when it was taken on the `Clock`'s wall time (what the status page counts "ago"
 * from).
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly takenAt: Date
  readonly services: Readonly<Record<string, ServiceDetails>>
}

/**
 * The registry's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  /**
   * Lists `status` under `id` for the life of the current scope. Fails with a
   * `Config.ConfigError` naming the path `["id"]` when a live entry already has that id; nothing
   * is registered then.
   *
   * With `breaker`, the entry's {@link ServiceDetails} also carry the time until
   * the breaker's next probe and its recent transitions: the registry subscribes to the
   * breaker's transitions before `register` completes, so every transition after it is kept
   * (the last {@link recentTransitionsLimit}), until the scope closes.
   */
  readonly register: (
    id: string,
    status: Effect.Effect<ServiceStatus>,
    breaker?: CircuitBreaker
  ) => Effect.Effect<void, Config.ConfigError, Scope.Scope>
  /** The status of one entry, or `None` when nothing is registered under `id`. */
  readonly get: (id: string) => Effect.Effect<Option.Option<ServiceStatus>>
  /** Every entry's status, keyed by id, in registration order. */
  readonly statuses: Effect.Effect<Record<string, ServiceStatus>>
  /**
   * The {@link ServiceDetails} of one entry, or `None` when nothing is registered under `id`.
   *
   * @since 0.1.0
   */
  readonly details: (id: string) => Effect.Effect<Option.Option<ServiceDetails>>
  /**
   * Every entry's {@link ServiceDetails}, keyed by id, in registration order, with the time it
   * was taken: what the status page shows.
   *
   * @since 0.1.0
   */
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * The registry service. `ResilientServiceClient.layer` and `layerConfig` need it and list their
 * client under its `id`; `ResilientServiceClient.register` lists a client made with `make`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, ServiceRegistry } from "effect-resilience"
 *
 * // a standalone breaker is listed by hand; passing the breaker too lets the status page
 * // show its recent transitions and the time until its next probe
 * const program = Effect.gen(function*() {
 *   const registry = yield* ServiceRegistry.ServiceRegistry
 *   const breaker = yield* CircuitBreaker.make({ name: "Git" })
 *   yield* registry.register("git", breaker.status, breaker)
 * }).pipe(Effect.scoped, Effect.provide(ServiceRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class ServiceRegistry
  extends Context.Service<ServiceRegistry, Registry>()("effect-resilience/ServiceRegistry")
{}

/**
 * An empty registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ServiceRegistry> = Layer.sync(ServiceRegistry, internal.make)
