/**
 * The monitoring endpoint of the Python service, `GET /v1/api/status/services`, as an
 * `HttpApiGroup` (for apps built with `HttpApi`, so the endpoints appear in their OpenAPI
 * document) and as a plain `HttpRouter`.
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
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ServiceRegistry } from "./ServiceRegistry.js"
import { ServiceStatus } from "./ServiceStatus.js"

/**
 * The path of the listing.
 *
 * @since 0.1.0
 * @category constants
 */
export const path = "/v1/api/status/services"

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
 * `status.list` (`GET /v1/api/status/services`) and `status.get`
 * (`GET /v1/api/status/services/:id`).
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

const notFound = (id: string) => new ServiceNotFound({ id, message: `no service is registered under "${id}"` })

const lookup = (id: string) =>
  Effect.flatMap(ServiceRegistry, (registry) =>
    Effect.flatMap(
      registry.get(id),
      Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })
    ))

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
  ) as unknown as Layer.Layer<HttpApiGroup.ApiGroup<ApiId, "status">, never, ServiceRegistry>

/**
 * A standalone `HttpApi` with only the status group.
 *
 * @since 0.1.0
 * @category api
 */
export const api = HttpApi.make("effect-resilience-status").add(group)

const encodeStatuses = Schema.encode(Statuses)
const encodeStatus = Schema.encode(ServiceStatus)

/**
 * The same endpoints as a plain router, to mount in an existing `HttpRouter`.
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
  )
)
