/**
 * Fleet mode: the replicas of a service share their circuit breakers through Redis. When one
 * replica's breaker opens, every replica's breaker of the same name opens for the same remaining
 * time; in `half_open` exactly one replica of the fleet probes; every replica publishes its
 * breakers' statuses. Calls never touch Redis: they read the local breaker, and a replica that
 * loses Redis keeps working on its own breakers until Redis is back.
 *
 * Needs the optional peer dependency `@redis/client`. See docs/fleet.md.
 *
 * @since 0.4.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import type * as EffectCircuitBreaker from "effect/persistence/CircuitBreaker"
import * as internal from "./internal/fleet.js"
import * as membership from "./internal/fleetMembership.js"
import * as store from "./internal/fleetStore.js"
import * as Redis from "./internal/redis.js"
import type { ServiceStatusJson } from "./ServiceStatus.js"

/**
 * Options of a fleet layer. Durations are `Duration` inputs (`"1 second"`, or milliseconds).
 *
 * - `fleet` (required): the fleet's name; replicas with the same name share breakers of the same
 *   name (a breaker's `name`, a client's `serviceName`). Must be well-formed UTF-16 text.
 * - `url` (required): the Redis server, `redis://[user:password@]host:port[/db]` or `rediss://`.
 * - `replica`: this replica's name in the fleet status (default: `replica-` and a random suffix).
 *   Must be well-formed UTF-16 text.
 * - `quorum` (default 1): how many distinct replicas must open within `quorumWindow` (default
 *   `"10 seconds"`) before the opening becomes fleet-wide.
 * - `leaseTtl` (default `"15 seconds"`): how long the half-open probe lease lasts; a probe still
 *   running after it cannot close or open the fleet, and another replica may probe. The lease is
 *   asked for by a call that arrives in `half_open`, never renewed, and given back after half of
 *   it when no probe started under it. It must be at least twice `commandTimeout` (the holder
 *   gives the lease up a command's time before Redis does): a shorter one is a `ConfigError`
 *   naming `leaseTtl`.
 * - `heartbeat` (default `"1 second"`): how often the replica publishes its statuses and
 *   re-reads the fleet's state; a replica is gone from the status after 3 missed heartbeats.
 *   It also paces liveness: each connection sends a `PING` every half heartbeat, and one that
 *   receives nothing for `heartbeat + commandTimeout` (1 s at the least) is dropped and opened
 *   again.
 * - `commandTimeout` (default `"500 millis"`): the bound on one Redis command, and on when a
 *   change may still apply: a proposal, lease request or settling that Redis runs later than
 *   that after it was sent (a stall, a failover's paused writes) changes nothing. A command that
 *   reaches it also replaces the connection it was sent on. At most half of `leaseTtl` (else a
 *   `ConfigError` naming `leaseTtl`).
 * - `connectTimeout` (default `"1 second"`): the bound on opening a connection.
 * - `cluster` (default `false`): `true` when `url` is a node of a Redis Cluster (the other nodes
 *   are discovered), or `{ rootNodes: ["redis://…", …] }` to name more nodes to try at start.
 *   `url`'s credentials and TLS apply to every node; a cluster has only database 0 (another
 *   database in `url` is a `ConfigError`).
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  readonly fleet: string
  readonly url: string
  readonly replica?: string | undefined
  readonly quorum?: number | undefined
  readonly quorumWindow?: Duration.Input | undefined
  readonly leaseTtl?: Duration.Input | undefined
  readonly heartbeat?: Duration.Input | undefined
  readonly commandTimeout?: Duration.Input | undefined
  readonly connectTimeout?: Duration.Input | undefined
  readonly cluster?: boolean | { readonly rootNodes?: ReadonlyArray<string> | undefined } | undefined
}

/**
 * A Redis command that got no answer (the server is down, hung or answered with an error).
 *
 * @since 0.4.0
 * @category errors
 */
export const RedisError: typeof Redis.RedisError = Redis.RedisError

/**
 * @since 0.4.0
 * @category errors
 */
export type RedisError = Redis.RedisError

/**
 * One live replica of the fleet, as its last heartbeat described it: its name, the time since
 * that heartbeat in milliseconds (Redis's clock), and its breakers' statuses (wire JSON) by
 * service name.
 *
 * @since 0.4.0
 * @category models
 */
export interface ReplicaStatus {
  readonly replica: string
  /** Time since the replica's last heartbeat, as Redis measured it, in milliseconds. */
  readonly ageMillis: number
  /** The replica's breakers: service name → status (wire JSON). */
  readonly services: Record<string, ServiceStatusJson>
}

/**
 * The fleet this replica belongs to.
 *
 * - `fleet`, `replica`: the names.
 * - `reachable`: whether Redis answered the last command.
 * - `replicas`: every live replica of the fleet with its statuses, read from Redis; fails with
 *   `RedisError` when Redis does not answer.
 *
 * @since 0.4.0
 * @category models
 */
export interface Fleet {
  readonly fleet: string
  readonly replica: string
  readonly reachable: Effect.Effect<boolean>
  readonly replicas: Effect.Effect<ReadonlyArray<ReplicaStatus>, RedisError>
}

/**
 * The fleet service. Breakers and clients made where it is in context join the fleet.
 *
 * @since 0.4.0
 * @category tags
 */
export const Fleet: Context.Service<Fleet, Fleet> = membership.FleetMembership as unknown as Context.Service<
  Fleet,
  Fleet
>

/**
 * A fleet over Redis for the life of the layer. Every breaker made under it (directly with
 * `CircuitBreaker.make`, or inside a `ResilientServiceClient`) joins the fleet under its name,
 * for the life of the breaker's scope; use {@link optOut} to keep one local. A client made under
 * it also shares its retry budget with the same service's clients on the other replicas: their
 * successes and failures are exchanged about once a heartbeat, so the budget holds for the fleet.
 *
 * Builds even when Redis is down (the breakers then decide locally until it answers). Fails with
 * a `ConfigError` naming the field for invalid options, and for `url` when `@redis/client` is not
 * installed.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, Fleet } from "effect-resilience"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make({ name: "billing" })
 *   return yield* breaker(Effect.succeed("charged"))
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(Fleet.layerRedis({ fleet: "checkout", url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layerRedis = (options: Options): Layer.Layer<Fleet, Config.ConfigError> =>
  internal.layer(options) as unknown as Layer.Layer<Fleet, Config.ConfigError>

/**
 * Options of {@link layerStore}: the fleet's {@link Options}, and
 *
 * - `idleTimeToLive` (default `"1 hour"`): a key no call has used for this long is dropped and
 *   leaves the fleet (an open key that long past its opening; a call in flight, a probe
 *   included, counts as use); it starts again closed, with a backoff count of 0. Swept on the
 *   `Clock` once a minute, or once per `idleTimeToLive` when shorter, with or without traffic.
 * - `maxKeys` (default 1,000): how many keys the store tracks at once. When they are, expired
 *   keys are swept at once; an admission of one more still finding no place fails with `CircuitBreakerStoreError`, which Effect 4's breaker (`onStoreError: "allow"`, its
 *   default) turns into a call run unrecorded. Each key costs the fleet what a breaker costs it
 *   (its status in every heartbeat, its state re-read once a heartbeat): raise it with Redis's
 *   load in mind.
 * - `maxOpenDuration` (default `"1 hour"`): the longest opening adopted from the fleet: an opening
 *   that another replica proposed never keeps a key open longer here (a fleet opening that has run
 *   this long has ended for this replica). Keep it at least as long as the longest opening the
 *   breaker's `openDuration` makes (a `Schedule` capped with `Schedule.upTo` or `Schedule.min`).
 *
 * @since 0.4.0
 * @category models
 */
export interface StoreOptions extends Options {
  readonly idleTimeToLive?: Duration.Input | undefined
  readonly maxKeys?: number | undefined
  readonly maxOpenDuration?: Duration.Input | undefined
}

/**
 * The fleet as Effect 4's own breaker store: a layer of `effect/persistence/CircuitBreaker`'s
 * `CircuitBreakerStore` (and of {@link Fleet}, for its status) over Redis, for the life of the
 * layer. Effect 4's `CircuitBreaker.make` and `CircuitBreaker.layer` use it as they use
 * `layerStoreMemory` or `layerStoreRedis`, with the same trip policies, open durations and
 * errors.
 *
 * Every key is answered from this replica's memory: `admit`, `record` and `state` never wait for
 * Redis (no round trip per call, and calls keep their speed while Redis hangs). A key joins the
 * fleet on its first admission, under its own name, like one of our breakers: an opening is
 * proposed to the fleet (with `quorum`), and the other replicas adopt it for its remaining time;
 * in `HalfOpen` only the replica holding the fleet's probe lease admits the probe (`probe: true`),
 * the others reject with `CircuitHalfOpen`; the probe's success closes the fleet. A probe
 * interrupted before its outcome is recorded frees its slot when its admission's scope closes,
 * and the lease goes back to the fleet when no other probe starts under it. Every Redis command
 * is bounded by `commandTimeout`; while Redis does not answer, each replica decides alone.
 *
 * What Effect 4's breaker cannot show: openings and closings adopted from other replicas change
 * `state(key)` and what calls get, but do not appear on the breaker's `transitions` (it only
 * shows what its own calls did). The fleet's status ({@link router}) lists every key of every
 * replica.
 *
 * Fails with a `ConfigError` naming the field for invalid options (those of {@link layerRedis},
 * and `idleTimeToLive`, `maxKeys`, `maxOpenDuration`).
 *
 * @example
 * ```ts
 * import { Fleet } from "effect-resilience"
 * import { Effect, Layer } from "effect"
 * import { CircuitBreaker } from "effect/persistence"
 *
 * const breaker = CircuitBreaker.layer({
 *   tripPolicy: CircuitBreaker.consecutive(5),
 *   openDuration: "30 seconds"
 * }).pipe(Layer.provide(Fleet.layerStore({ fleet: "checkout", url: "redis://127.0.0.1:6379" })))
 *
 * const charge = Effect.gen(function*() {
 *   const circuits = yield* CircuitBreaker.CircuitBreaker
 *   return yield* Effect.succeed("charged").pipe(circuits.execute({ key: "billing" }))
 * }).pipe(Effect.provide(breaker))
 * ```
 *
 * @since 0.4.0
 * @category layers
 */
export const layerStore = (
  options: StoreOptions
): Layer.Layer<EffectCircuitBreaker.CircuitBreakerStore | Fleet, Config.ConfigError> =>
  Layer.effectContext(store.make(options)) as unknown as Layer.Layer<
    EffectCircuitBreaker.CircuitBreakerStore | Fleet,
    Config.ConfigError
  >

/**
 * Runs `self` without the fleet in context: breakers made inside stay local.
 *
 * @since 0.4.0
 * @category combinators
 */
export const optOut = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.updateContext(
    self,
    (context: Context.Context<R>) => Context.omit(membership.FleetMembership)(context) as Context.Context<R>
  )

/**
 * Where {@link router} answers: `GET /v1/api/status/fleet`.
 *
 * @since 0.4.0
 * @category constants
 */
export const statusPath = "/v1/api/status/fleet"

/**
 * The fleet's status as JSON, read from Redis on each request:
 * `{ fleet, replica, reachable: true, replicas: [{ replica, age_ms, services: { [name]: status } }] }`
 * with 200, every live replica listed (statuses in the wire JSON of `ServiceStatus`). When Redis
 * does not answer: 503 with `{ fleet, replica, reachable: false, error }`.
 *
 * @since 0.4.0
 * @category handlers
 */
export const statusResponse = (fleet: Fleet): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  fleet.replicas.pipe(
    Effect.map((replicas) =>
      HttpServerResponse.jsonUnsafe({
        fleet: fleet.fleet,
        replica: fleet.replica,
        reachable: true,
        replicas: replicas.map((r) => ({ replica: r.replica, age_ms: r.ageMillis, services: r.services }))
      })
    ),
    Effect.catchTag("RedisError", (error) =>
      Effect.succeed(HttpServerResponse.jsonUnsafe(
        { fleet: fleet.fleet, replica: fleet.replica, reachable: false, error: error.message },
        { status: 503 }
      )))
  )

/**
 * The route of {@link statusResponse} at {@link statusPath} (`GET /v1/api/status/fleet`), as a
 * layer of the Effect 4 router: merge it with the other routes of the app (`StatusApi.router`
 * among them) and serve them with `HttpRouter.serve`. It reads the `Fleet` when the layer is
 * built, so provide the fleet layer to it (or to the merged routes).
 *
 * @example
 * ```ts
 * import { Fleet, StatusApi } from "effect-resilience"
 * import { Layer } from "effect"
 *
 * const routes = Layer.mergeAll(StatusApi.router, Fleet.router).pipe(
 *   Layer.provide(Fleet.layerRedis({ fleet: "checkout", url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 *
 * @since 0.4.0
 * @category routers
 */
export const router: Layer.Layer<never, never, HttpRouter.HttpRouter | Fleet> = HttpRouter.use((router) =>
  Effect.flatMap(Fleet, (fleet) => router.add("GET", statusPath, statusResponse(fleet)))
)
