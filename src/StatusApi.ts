/**
 * The monitoring endpoint of the Python service, `GET /v1/api/status/services`, as an
 * `HttpApiGroup` (for apps built with `HttpApi`, so the endpoints appear in their OpenAPI
 * document) and as a plain `HttpRouter`; and a status page for people, `GET /v1/api/status`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Core from "../core/src/statusApi.js"
import type { ReplicaStatus } from "./Fleet.js"
import * as FleetMembership from "./internal/fleetMembership.js"
import * as statusPage from "./internal/statusPage.js"
import type { Snapshot } from "./ServiceRegistry.js"
import { ServiceRegistry } from "./ServiceRegistry.js"
import { ServiceStatus } from "./ServiceStatus.js"

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
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * The listing: every registered status keyed by id, in wire JSON.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Statuses = Schema.Record({ key: Schema.String, value: ServiceStatus })

/**
 * `status.list` (`GET /v1/api/status/services`), `status.get`
 * (`GET /v1/api/status/services/:id`, the id encoded as a URL component: `billing%2Fv2`) and `status.page` (`GET /v1/api/status`, the HTML
 * status page of {@link page}, documented as `text/html`).
 *
 * @since 0.1.0
 * @category api
 */
export const group = HttpApiGroup.make("status")
  .add(
    HttpApiEndpoint.get("list", path)
      .addSuccess(Statuses)
  )
  .add(
    HttpApiEndpoint.get("get", `${path}/:id`)
      .setPath(Schema.Struct({ id: Schema.String }))
      .addSuccess(ServiceStatus)
      .addError(ServiceNotFound)
  )
  .add(
    HttpApiEndpoint.get("page", pagePath)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }))
  )

const notFound = (id: string) => new ServiceNotFound({ id, message: Core.notFoundMessage(id) })

const lookup = (id: string) =>
  Effect.flatMap(ServiceRegistry, (registry) =>
    Effect.flatMap(
      registry.get(id),
      Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })
    ))

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
  readonly refreshInterval?: Duration.DurationInput | undefined
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
 * `<meta http-equiv="refresh">`.
 *
 * It shows one card per service, in registration order (the element
 * `article[data-service-id="<id>"][data-state="<state>"]`): its name and id, its state in colour
 * (closed green, half_open amber, open red), its failure count, last failure and last state
 * change, and, while it is open, the time until its next probe. Below the cards, the recent
 * transitions of every service, newest first (at most 50). Probe times and transitions are
 * known only for entries registered with their breaker.
 *
 * Use it to serve the page from another server; {@link page} serves it with `@effect/platform`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ServiceRegistry, StatusApi } from "effect-resilience"
 *
 * const html = Effect.flatMap(ServiceRegistry.ServiceRegistry, (registry) =>
 *   Effect.map(registry.snapshot, (snapshot) => StatusApi.renderPage(snapshot, { refreshInterval: "10 seconds" })))
 * ```
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderPage: (snapshot: Snapshot, options?: PageOptions) => string = statusPage.render

// fleet mode: the fleet's replicas, when a fleet is in context (read from Redis, bounded by its
// command timeout; undefined while it does not answer)
const fleetSection = Effect.flatMap(
  Effect.serviceOption(FleetMembership.FleetMembership),
  Option.match({
    onNone: () => Effect.succeed(undefined),
    onSome: (fleet) =>
      Effect.map(
        Effect.option(fleet.replicas),
        (replicas) => ({ fleet: fleet.fleet, replica: fleet.replica, replicas: Option.getOrUndefined(replicas) })
      )
  })
)

const pageResponse = Effect.map(
  Effect.zip(Effect.flatMap(ServiceRegistry, (registry) => registry.snapshot), fleetSection),
  ([snapshot, fleet]) =>
    HttpServerResponse.text(renderPage(snapshot, { fleet }), {
      contentType: "text/html; charset=utf-8",
      headers: { "cache-control": "no-store", "x-content-type-options": "nosniff" }
    })
)

/**
 * The handlers of {@link group} for any `HttpApi` that adds it.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { StatusApi } from "effect-resilience"
 *
 * const MyApi = HttpApi.make("my-api").add(StatusApi.group)
 * const StatusLive = StatusApi.handlers(MyApi)
 * ```
 *
 * @since 0.1.0
 * @category api
 */
export const handlers = <ApiId extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<ApiId, Groups | typeof group, E, R>
): Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "status">, never, ServiceRegistry> =>
  HttpApiBuilder.group(
    api as unknown as HttpApi.HttpApi<ApiId, typeof group, E, R>,
    "status",
    (h) =>
      h
        .handle("list", () => Effect.flatMap(ServiceRegistry, (registry) => registry.statuses))
        .handle("get", ({ path }) => lookup(path.id))
        .handle("page", () => pageResponse)
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "status">, never, ServiceRegistry>

/**
 * A standalone `HttpApi` with only the status group.
 *
 * @since 0.1.0
 * @category api
 */
export const api = HttpApi.make("effect-resilience-status").add(group)

/**
 * The status page alone: `GET /v1/api/status` answers 200 with the HTML of {@link renderPage}
 * for the registry's current snapshot (refreshing every 5 seconds). {@link routerWithPage} is
 * {@link router} with this page; {@link router} alone does not serve it.
 * With a `Fleet` in context (fleet mode) the page also shows the fleet's replicas, read from
 * Redis on each request.
 *
 * @example
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { StatusApi } from "effect-resilience"
 *
 * // the page without the JSON endpoints, under /admin: GET /admin/v1/api/status
 * const app = HttpRouter.empty.pipe(HttpRouter.mount("/admin", StatusApi.page))
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const page: HttpRouter.HttpRouter<never, ServiceRegistry> = HttpRouter.empty.pipe(
  HttpRouter.get(pagePath, pageResponse)
)

const encodeStatuses = Schema.encode(Statuses)
const encodeStatus = Schema.encode(ServiceStatus)

/**
 * The JSON endpoints as a plain router, to mount in an existing `HttpRouter`: the listing at
 * `GET /v1/api/status/services` and one entry at `GET /v1/api/status/services/:id`, the id
 * encoded as a URL component (`billing/v2` is `billing%2Fv2`; written with a raw `/`, the answer
 * is a 404 that gives the encoded path). It routes nothing else: `GET /v1/api/status` stays free for the application (add {@link page}, or use
 * {@link routerWithPage}, to serve the status page there).
 *
 * @example
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { StatusApi } from "effect-resilience"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.concat(StatusApi.router))
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const router: HttpRouter.HttpRouter<never, ServiceRegistry> = HttpRouter.empty.pipe(
  HttpRouter.get(
    path,
    Effect.flatMap(ServiceRegistry, (registry) =>
      registry.statuses.pipe(
        Effect.flatMap(encodeStatuses),
        Effect.flatMap((body) => HttpServerResponse.json(body)),
        Effect.orDie
      ))
  ),
  HttpRouter.get(
    `${path}/:id`,
    Effect.flatMap(HttpRouter.params, (params) => {
      const id = params.id ?? ""
      return lookup(id).pipe(
        Effect.flatMap(encodeStatus),
        Effect.flatMap((body) => HttpServerResponse.json(body)),
        Effect.catchTag(
          "ServiceNotFound",
          (error) =>
            HttpServerResponse.json({ _tag: error._tag, id: error.id, message: error.message }, { status: 404 })
        ),
        Effect.orDie
      )
    })
  ),
  // an id with "/" written unencoded reaches no `:id`: say how to ask for it
  HttpRouter.get(
    `${path}/*`,
    Effect.flatMap(HttpRouter.params, (params) => {
      const id = params["*"] ?? ""
      return HttpServerResponse.json({
        _tag: "ServiceNotFound",
        id,
        message: Core.rawSlashMessage(id)
      }, { status: 404 }).pipe(Effect.orDie)
    })
  )
)

/**
 * {@link router} and the status page of {@link page}: the JSON endpoints and `GET /v1/api/status`.
 * Use it when that path is free in your application.
 *
 * @example
 * ```ts
 * import { HttpRouter } from "@effect/platform"
 * import { StatusApi } from "effect-resilience"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.concat(StatusApi.routerWithPage))
 * ```
 *
 * @since 0.2.0
 * @category routers
 */
export const routerWithPage: HttpRouter.HttpRouter<never, ServiceRegistry> = HttpRouter.concat(router, page)
