/**
 * Where the clients (and breakers) of an app list themselves, so that one endpoint can report
 * every service's status.
 *
 * @since 0.1.0
 */
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/registry.js"
import type { ServiceStatus } from "./ServiceStatus.js"

/**
 * The registry's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  /**
   * Lists `status` under `id` for the life of the current scope. Fails with a `ConfigError`
   * (path `["id"]`) when a live entry already has that id.
   */
  readonly register: (
    id: string,
    status: Effect.Effect<ServiceStatus>
  ) => Effect.Effect<void, ConfigError.ConfigError, Scope.Scope>
  /** The status of one entry, or `None` when nothing is registered under `id`. */
  readonly get: (id: string) => Effect.Effect<Option.Option<ServiceStatus>>
  /** Every entry's status, keyed by id, in registration order. */
  readonly statuses: Effect.Effect<Record<string, ServiceStatus>>
}

/**
 * The registry service. A `ResilientServiceClient` built where it is in context registers
 * itself under its `id`; without one, clients work the same and are simply not listed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CircuitBreaker, ServiceRegistry } from "effect-resilience"
 *
 * // a standalone breaker is listed by hand
 * const program = Effect.gen(function*() {
 *   const registry = yield* ServiceRegistry.ServiceRegistry
 *   const breaker = yield* CircuitBreaker.make({ name: "Git" })
 *   yield* registry.register("git", breaker.status)
 * }).pipe(Effect.scoped, Effect.provide(ServiceRegistry.layer))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class ServiceRegistry extends Context.Tag("effect-resilience/ServiceRegistry")<ServiceRegistry, Registry>() {}

/**
 * An empty registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ServiceRegistry> = Layer.sync(ServiceRegistry, internal.make)
