/**
 * The monitoring endpoint of the Python service, `GET /v1/api/status/services`, as an
 * `HttpApiGroup` (for apps built with `HttpApi`, so the endpoints appear in their OpenAPI
 * document) and as `HttpRouter` routes; and a status page for people, `GET /v1/api/status`.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Core from "../../core/src/statusApi.js"
import type { ReplicaStatus } from "./Fleet.js"
import * as FleetMembership from "./internal/fleetMembership.js"
import * as statusPage from "./internal/statusPage.js"
import type { Registry, Snapshot } from "./ServiceRegistry.js"
import { ServiceRegistry } from "./ServiceRegistry.js"
import { ServiceStatusJson } from "./ServiceStatus.js"

/**
 * The path of the listing.
 *
 * @since 0.1.0
 * @category constants
 */
export const path = Core.path

/**
 * The path of the status page.
 *
 * @since 0.1.0
 * @category constants
 */
export const pagePath = Core.pagePath

/**
 * Nothing is registered under the requested id: HTTP 404 with
 * `{ "_tag": "ServiceNotFound", "id": "…", "message": "…" }`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceNotFound extends Schema.TaggedError<ServiceNotFound>()(
  "ServiceNotFound",
  { id: Schema.String, message: Schema.String },
  { httpApiStatus: 404 }
) {}

/**
 * The listing: every registered status keyed by id, in wire JSON (`ServiceStatus.ServiceStatusJson`
 * for each value).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Statuses = Schema.Record(Schema.String, ServiceStatusJson)

/**
 * `status.list` (`GET /v1/api/status/services`), `status.get`
 * (`GET /v1/api/status/services/:id`, the id encoded as a URL component: `billing%2Fv2`) and
 * `status.page` (`GET /v1/api/status`, the HTML status page of {@link page}, documented as
 * `text/html`).
 *
 * @since 0.1.0
 * @category api
 */
export const group = HttpApiGroup.make("status")
  .add(HttpApiEndpoint.get("list", path, { success: Statuses }))
  .add(HttpApiEndpoint.get("get", `${path}/:id`, {
    params: { id: Schema.String },
    success: ServiceStatusJson,
    error: ServiceNotFound
  }))
  .add(HttpApiEndpoint.get("page", pagePath, {
    success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/html" }))
  }))

const notFound = (id: string) => new ServiceNotFound({ id, message: Core.notFoundMessage(id) })

const lookup = (registry: Registry, id: string) =>
  Effect.flatMap(
    registry.get(id),
    Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })
  )

/**
 * Options of {@link renderPage}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PageOptions {
  /**
   * How often the page reloads itself, rounded up to whole seconds (at least 1). Default
   * `"5 seconds"`.
   */
  readonly refreshInterval?: Duration.Input | undefined
  /**
   * Fleet mode: a section listing every live replica of the fleet and the state of each of its
   * breakers; `replicas` undefined shows that Redis does not answer. {@link page} fills it in
   * when a `Fleet` is in context. Default: no fleet section.
   *
   * @since 0.2.0
   */
  readonly fleet?: {
    readonly fleet: string
    readonly replica: string
    readonly replicas: ReadonlyArray<ReplicaStatus> | undefined
  } | undefined
}

/**
 * Renders the status page of a registry snapshot (see `ServiceRegistry.Registry.snapshot`) as
 * one self-contained HTML document: inline CSS, no script, no external asset, every string from
 * the snapshot escaped. It reloads itself every `refreshInterval` with
 * `<meta http-equiv="refresh">`. Throws on a `refreshInterval` that is not a duration.
 *
 * It shows one card per service, in registration order (the element
 * `article[data-service-id="<id>"][data-state="<state>"]`): its name and id, its state in colour
 * (closed green, half_open amber, open red), its failure count, last failure and last state
 * change, and, while it is open, the time until its next probe. Below the cards, the recent
 * transitions of every service, newest first (at most 50). Probe times and transitions are
 * known only for entries registered with their breaker. The HTML is the Effect 3 edition's,
 * byte for byte (both render it with the same core).
 *
 * Use it to serve the page from another server; {@link page} serves it with `effect/http`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ServiceRegistry, StatusApi } from "effect-resilience"
 *
 * const html = Effect.gen(function*() {
 *   const registry = yield* ServiceRegistry.ServiceRegistry
 *   const snapshot = yield* registry.snapshot
 *   return StatusApi.renderPage(snapshot, { refreshInterval: "10 seconds" })
 * })
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderPage: (snapshot: Snapshot, options?: PageOptions) => string = statusPage.render

// fleet mode: the fleet's replicas, when a fleet is in context (read from Redis on each request,
// bounded by its command timeout; undefined while it does not answer)
type FleetInContext = Option.Option<FleetMembership.FleetService>

const fleetSection = (fleet: FleetInContext) =>
  Option.match(fleet, {
    onNone: () => Effect.succeed(undefined),
    onSome: (fleet) =>
      Effect.map(
        Effect.option(fleet.replicas),
        (replicas) => ({ fleet: fleet.fleet, replica: fleet.replica, replicas: Option.getOrUndefined(replicas) })
      )
  })

const pageResponse = (registry: Registry, fleet: FleetInContext) =>
  Effect.map(
    Effect.zip(registry.snapshot, fleetSection(fleet)),
    ([snapshot, fleet]) =>
      HttpServerResponse.text(renderPage(snapshot, { fleet }), {
        contentType: "text/html; charset=utf-8",
        headers: { "cache-control": "no-store", "x-content-type-options": "nosniff" }
      })
  )

// What every route reads when its layer is built: the registry, and the fleet if there is one.
const inContext = Effect.gen(function*() {
  const registry = yield* ServiceRegistry
  const fleet = yield* Effect.serviceOption(FleetMembership.FleetMembership)
  return { registry, fleet }
})

/**
 * The handlers of {@link group} for any `HttpApi` that adds it. The layer reads the
 * `ServiceRegistry` when it is built (and the `Fleet`, in fleet mode), so provide it below the
 * handlers: the clients registered in that same registry are the ones listed.
 *
 * @example
 * ```ts
 * import * as HttpApi from "effect/http-api/HttpApi"
 * import { StatusApi } from "effect-resilience"
 *
 * const MyApi = HttpApi.make("my-api").add(StatusApi.group)
 * const StatusLive = StatusApi.handlers(MyApi)
 * ```
 *
 * @since 0.1.0
 * @category api
 */
export const handlers = <ApiId extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<ApiId, Groups | typeof group>
): Layer.Layer<HttpApiGroup.Service<ApiId, "status">, never, ServiceRegistry> =>
  HttpApiBuilder.group(
    api as unknown as HttpApi.HttpApi<ApiId, typeof group>,
    "status",
    (h) =>
      Effect.map(inContext, ({ fleet, registry }) =>
        h
          .handle("list", () => registry.statuses)
          .handle("get", ({ params }) => lookup(registry, params.id))
          .handle("page", () => pageResponse(registry, fleet)))
  )

/**
 * A standalone `HttpApi` with only the status group.
 *
 * @since 0.1.0
 * @category api
 */
export const api = HttpApi.make("effect-resilience-status").add(group)

/**
 * The status page alone, as routes: `GET /v1/api/status` answers 200 with the HTML of
 * {@link renderPage} for the registry's current snapshot (refreshing every 5 seconds), as
 * `text/html; charset=utf-8`, `cache-control: no-store`. {@link routerWithPage} is
 * {@link router} with this page; {@link router} alone does not serve it.
 * With a `Fleet` in context (fleet mode) the page also shows the fleet's replicas, read from
 * Redis on each request.
 *
 * Like every route layer of Effect 4, it adds its route to the `HttpRouter` it is given, and
 * reads the `ServiceRegistry` when it is built. To serve it under a prefix, give it a prefixed
 * router (see {@link prefixed}).
 *
 * @example
 * ```ts
 * import * as HttpRouter from "effect/http/HttpRouter"
 * import { StatusApi } from "effect-resilience"
 *
 * // the page without the JSON endpoints, under /admin: GET /admin/v1/api/status
 * const AdminPage = StatusApi.page.pipe(StatusApi.prefixed("/admin"))
 * const app = HttpRouter.serve(AdminPage)
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const page: Layer.Layer<never, never, HttpRouter.HttpRouter | ServiceRegistry> = HttpRouter.addAll(
  Effect.map(inContext, ({ fleet, registry }) => [HttpRouter.route("GET", pagePath, pageResponse(registry, fleet))])
)

const encodeStatuses = Schema.encodeSync(Statuses)
const encodeStatus = Schema.encodeSync(ServiceStatusJson)

const notFoundResponse = (error: ServiceNotFound) =>
  HttpServerResponse.jsonUnsafe({ _tag: error._tag, id: error.id, message: error.message }, { status: 404 })

const jsonRoutes = (registry: Registry) => [
  HttpRouter.route(
    "GET",
    path,
    Effect.map(registry.statuses, (statuses) => HttpServerResponse.jsonUnsafe(encodeStatuses(statuses)))
  ),
  HttpRouter.route(
    "GET",
    `${path}/:id`,
    Effect.flatMap(HttpRouter.params, (params) =>
      lookup(registry, params["id"] ?? "").pipe(
        Effect.map((status) => HttpServerResponse.jsonUnsafe(encodeStatus(status))),
        Effect.catchTag("ServiceNotFound", (error) => Effect.succeed(notFoundResponse(error)))
      ))
  ),
  // an id with "/" written unencoded reaches no `:id`: say how to ask for it
  HttpRouter.route(
    "GET",
    `${path}/*`,
    Effect.map(HttpRouter.params, (params) => {
      const id = params["*"] ?? ""
      return HttpServerResponse.jsonUnsafe({
        _tag: "ServiceNotFound",
        id,
        message: Core.rawSlashMessage(id)
      }, { status: 404 })
    })
  )
]

/**
 * The JSON endpoints as routes, to add to an app's `HttpRouter`: the listing at
 * `GET /v1/api/status/services` and one entry at `GET /v1/api/status/services/:id`, the id
 * encoded as a URL component (`billing/v2` is `billing%2Fv2`; written with a raw `/`, the answer
 * is a 404 that gives the encoded path). It routes nothing else: `GET /v1/api/status` stays free
 * for the application (add {@link page}, or use {@link routerWithPage}, to serve the status
 * page there).
 *
 * A route layer (Effect 4's router is built from layers): merge it with the app's other routes
 * and serve them with `HttpRouter.serve`. It reads the `ServiceRegistry` when it is built:
 * provide the registry the clients register in.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as HttpRouter from "effect/http/HttpRouter"
 * import * as HttpServerResponse from "effect/http/HttpServerResponse"
 * import { StatusApi } from "effect-resilience"
 *
 * const Health = HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))
 * const app = HttpRouter.serve(Layer.mergeAll(Health, StatusApi.router))
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const router: Layer.Layer<never, never, HttpRouter.HttpRouter | ServiceRegistry> = HttpRouter.addAll(
  Effect.map(inContext, ({ registry }) => jsonRoutes(registry))
)

/**
 * {@link router} and the status page of {@link page}: the JSON endpoints and `GET /v1/api/status`.
 * Use it when that path is free in your application.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "effect/http/HttpRouter"
 * import { StatusApi } from "effect-resilience"
 *
 * const app = HttpRouter.serve(StatusApi.routerWithPage)
 * ```
 *
 * @since 0.2.0
 * @category routers
 */
export const routerWithPage: Layer.Layer<never, never, HttpRouter.HttpRouter | ServiceRegistry> = Layer.mergeAll(
  router,
  page
)

/**
 * Serves route layers (such as {@link router}, {@link page} or {@link routerWithPage}) under a
 * path prefix: `StatusApi.router.pipe(StatusApi.prefixed("/internal"))` answers
 * `GET /internal/v1/api/status/services`. The routes see the request's path without the prefix.
 * (Effect 4 builds a router from layers; this gives them a view of the app's `HttpRouter` that
 * prefixes what they add, as the Effect 3 edition's `HttpRouter.mount` did.)
 *
 * @since 0.4.0
 * @category routers
 */
export const prefixed = (prefix: `/${string}`) => <A, E, R>(routes: Layer.Layer<A, E, R>) =>
  Layer.provide(
    routes,
    Layer.effect(
      HttpRouter.HttpRouter,
      Effect.map(Effect.service(HttpRouter.HttpRouter), (router) => router.prefixed(prefix))
    )
  )
