/**
 * The registry and the monitoring endpoint, served for real by `NodeHttpServer` on 127.0.0.1
 * (port 0) and asked over a socket; the clients it lists run on a fake transport under the
 * TestClock, so that their states and timestamps are exact.
 */
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as http from "node:http"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry, StatusApi } from "../src/index.js"
import { makeFake, status } from "./utils/fakeClient.js"

/** The endpoint's server on 127.0.0.1, an ephemeral port, and an HttpClient aimed at it. */
const ServerLive = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
  Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" }))
)

/** A fresh server and a fresh registry per test. */
const TestLive = Layer.merge(ServerLive, ServiceRegistry.layer)

const T0 = Date.parse("2025-11-15T10:30:45.000Z")
const iso = (millis: number) => new Date(millis).toISOString()

/** GET over the socket: the status, the content type and the parsed JSON body. */
const getJson = (path: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(path)
    const body: unknown = yield* response.json
    return { status: response.status, contentType: response.headers["content-type"] ?? "", body }
  }).pipe(Effect.scoped, Effect.orDie)

/** A client on a fake transport that always answers `answerStatus`, listed in the registry. */
const clientAnswering = (answerStatus: number, options: Partial<ResilientServiceClient.Options>) => {
  const fake = makeFake(status(answerStatus))
  return ResilientServiceClient.make({ baseUrl: "http://service:8080", ...options }).pipe(
    Effect.provide(fake.layer),
    Effect.tap(ResilientServiceClient.register),
    Effect.map((client) => ({ client, fake }))
  )
}

/**
 * Two clients at T0 (the TestClock's time): "chroma" healthy, "billing" opened by a 503 at
 * T0 + 5 s (threshold 1, one attempt).
 */
const twoClients = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const chroma = yield* clientAnswering(200, {
    baseUrl: "http://chroma:6003",
    serviceName: "Chroma Server",
    id: "chroma"
  })
  const billing = yield* clientAnswering(503, {
    baseUrl: "http://billing:8080",
    serviceName: "Billing",
    id: "billing",
    maxAttempts: 1,
    failureThreshold: 1
  })
  yield* TestClock.adjust("5 seconds")
  expect((yield* chroma.client.get("/heartbeat")).status).toBe(200)
  const failed = yield* Effect.flip(billing.client.get("/invoices"))
  expect(failed._tag).toBe("ResponseError")
  expect((yield* billing.client.status).state).toBe("open")
  return { chroma, billing }
})

const chromaJson = {
  service: "Chroma Server",
  state: "closed",
  failure_count: 0,
  last_failure: null,
  last_state_change: iso(T0)
}

const billingOpenJson = {
  service: "Billing",
  state: "open",
  failure_count: 1,
  last_failure: iso(T0 + 5_000),
  last_state_change: iso(T0 + 5_000)
}

describe("StatusApi.router (served by NodeHttpServer on 127.0.0.1)", () => {
  it.scoped("the server listens on 127.0.0.1 with an ephemeral port", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      expect(server.address._tag).toBe("TcpAddress")
      if (server.address._tag === "TcpAddress") {
        expect(server.address.hostname).toBe("127.0.0.1")
        expect(server.address.port).toBeGreaterThan(0)
      }
    }).pipe(Effect.provide(TestLive)))

  it.scoped("GET /v1/api/status/services lists every registered client, keyed by id, in wire JSON", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* twoClients
      const response = yield* getJson("/v1/api/status/services")
      expect(response.status).toBe(200)
      expect(response.contentType).toMatch(/^application\/json/)
      expect(response.body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      // registration order
      expect(Object.keys(response.body as object)).toEqual(["chroma", "billing"])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("GET /v1/api/status/services/:id answers one status, read when asked", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* twoClients
      const chroma = yield* getJson("/v1/api/status/services/chroma")
      expect(chroma.status).toBe(200)
      expect(chroma.body).toEqual(chromaJson)
      const billing = yield* getJson("/v1/api/status/services/billing")
      expect(billing.status).toBe(200)
      expect(billing.body).toEqual(billingOpenJson)
      // the recovery timeout (60 s by default) passes: half_open shows without any call
      yield* TestClock.adjust("60 seconds")
      const later = yield* getJson("/v1/api/status/services/billing")
      expect(later.body).toEqual({ ...billingOpenJson, state: "half_open", last_state_change: iso(T0 + 65_000) })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("an unknown id answers 404 with a JSON error body", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* twoClients
      const response = yield* getJson("/v1/api/status/services/nope")
      expect(response.status).toBe(404)
      expect(response.contentType).toMatch(/^application\/json/)
      expect(response.body).toEqual({
        _tag: "ServiceNotFound",
        id: "nope",
        message: "no service is registered under \"nope\""
      })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("an empty registry lists {}", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      const response = yield* getJson("/v1/api/status/services")
      expect(response.status).toBe(200)
      expect(response.body).toEqual({})
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a client whose scope closed is no longer listed", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* TestClock.setTime(T0)
      yield* clientAnswering(200, { serviceName: "Auth", id: "auth" })
      const scope = yield* Scope.make()
      yield* Scope.extend(clientAnswering(200, { serviceName: "Git", id: "git" }), scope)
      const before = yield* getJson("/v1/api/status/services")
      expect(Object.keys(before.body as object)).toEqual(["auth", "git"])
      expect((yield* getJson("/v1/api/status/services/git")).status).toBe(200)

      yield* Scope.close(scope, Exit.void)
      const after = yield* getJson("/v1/api/status/services")
      expect(after.body).toEqual({
        auth: { service: "Auth", state: "closed", failure_count: 0, last_failure: null, last_state_change: iso(T0) }
      })
      expect((yield* getJson("/v1/api/status/services/git")).status).toBe(404)
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a second live client with the same id fails with ConfigError [\"id\"] and is not registered", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* TestClock.setTime(T0)
      const first = yield* Scope.make()
      yield* Scope.extend(clientAnswering(200, { serviceName: "Chroma Server", id: "chroma" }), first)

      const second = yield* Effect.flip(clientAnswering(200, { serviceName: "Chroma Replica", id: "chroma" }))
      expect(ConfigError.isConfigError(second)).toBe(true)
      expect(second._op).toBe("InvalidData")
      if (second._op === "InvalidData") expect(second.path).toEqual(["id"])

      // the listing still shows the first client, and only it
      const listed = yield* getJson("/v1/api/status/services")
      expect(listed.body).toEqual({
        chroma: { ...chromaJson, service: "Chroma Server" }
      })

      // the failed attempt left nothing behind: once the first is gone the id is free again
      yield* Scope.close(first, Exit.void)
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({})
      yield* clientAnswering(200, { serviceName: "Chroma Replica", id: "chroma" })
      expect((yield* getJson("/v1/api/status/services/chroma")).body).toMatchObject({ service: "Chroma Replica" })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("the id defaults to the service name, which defaults to hostname:port", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* clientAnswering(200, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server" })
      yield* clientAnswering(200, { baseUrl: "http://fs-service:7000" })
      const listed = yield* getJson("/v1/api/status/services")
      expect(Object.keys(listed.body as object)).toEqual(["Chroma Server", "fs-service:7000"])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("a standalone breaker is listed with registry.register(id, breaker.status)", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const breaker = yield* CircuitBreaker.make({ name: "Git", failureThreshold: 1 })
      yield* registry.register("git", breaker.status)

      const closed = yield* getJson("/v1/api/status/services/git")
      expect(closed.body).toEqual({
        service: "Git",
        state: "closed",
        failure_count: 0,
        last_failure: null,
        last_state_change: iso(T0)
      })

      yield* TestClock.adjust("2 seconds")
      yield* Effect.flip(breaker(Effect.fail("git push failed")))
      const open = yield* getJson("/v1/api/status/services/git")
      expect(open.body).toEqual({
        service: "Git",
        state: "open",
        failure_count: 1,
        last_failure: iso(T0 + 2_000),
        last_state_change: iso(T0 + 2_000)
      })

      // register itself refuses a live duplicate
      const duplicate = yield* Effect.flip(registry.register("git", breaker.status))
      expect(duplicate._op).toBe("InvalidData")
      if (duplicate._op === "InvalidData") expect(duplicate.path).toEqual(["id"])
      expect(Object.keys((yield* getJson("/v1/api/status/services")).body as object)).toEqual(["git"])
    }).pipe(Effect.provide(TestLive)))

  it.scoped("the router mounts in an existing app (HttpRouter.concat)", () =>
    Effect.gen(function*() {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/health", HttpServerResponse.text("ok")),
        HttpRouter.concat(StatusApi.router)
      )
      yield* HttpServer.serveEffect(app)
      yield* twoClients
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      expect((yield* getJson("/v1/api/status/services/chroma")).body).toEqual(chromaJson)
      const health = yield* HttpClient.get("/health").pipe(Effect.flatMap((response) => response.text), Effect.scoped)
      expect(health).toBe("ok")
    }).pipe(Effect.provide(TestLive)))
})

describe("ServiceRegistry without the endpoint", () => {
  it.scoped("get and statuses read the live statuses, in registration order", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const { client } = yield* clientAnswering(503, { serviceName: "Billing", id: "billing", maxAttempts: 1 })
      expect(Option.map(yield* registry.get("billing"), (s) => s.failureCount)).toEqual(Option.some(0))
      yield* Effect.flip(client.get("/"))
      expect(Option.map(yield* registry.get("billing"), (s) => s.failureCount)).toEqual(Option.some(1))
      expect(Option.isNone(yield* registry.get("nope"))).toBe(true)
      const statuses = yield* registry.statuses
      expect(Object.keys(statuses)).toEqual(["billing"])
      expect(statuses["billing"]!.failureCount).toBe(1)
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.scoped("without a registry a client builds and calls normally, even with a duplicate id", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(200))
      const unlisted = ResilientServiceClient.make({ baseUrl: "http://service:8080", id: "same" }).pipe(
        Effect.provide(fake.layer)
      )
      const a = yield* unlisted
      const b = yield* unlisted
      expect((yield* a.get("/")).status).toBe(200)
      expect((yield* b.get("/")).status).toBe(200)
      expect(a.id).toBe("same")
    }))
})

// An app built with HttpApi that adds the status group beside its own endpoints.
const HealthGroup = HttpApiGroup.make("health").add(HttpApiEndpoint.get("ping", "/health").addSuccess(Schema.String))
const AppApi = HttpApi.make("app").add(HealthGroup).add(StatusApi.group)
const HealthLive = HttpApiBuilder.group(
  AppApi,
  "health",
  (handlers) => handlers.handle("ping", () => Effect.succeed("ok"))
)
const AppLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(AppApi)),
  Layer.provide([HealthLive, StatusApi.handlers(AppApi)])
)

describe("StatusApi.group + StatusApi.handlers(api) (HttpApi, served by NodeHttpServer)", () => {
  it.scoped("the same endpoints, the same JSON, the same 404", () =>
    Effect.gen(function*() {
      yield* Layer.build(AppLive)
      yield* twoClients
      const list = yield* getJson("/v1/api/status/services")
      expect(list.status).toBe(200)
      expect(list.body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      const one = yield* getJson("/v1/api/status/services/billing")
      expect(one.status).toBe(200)
      expect(one.body).toEqual(billingOpenJson)
      const missing = yield* getJson("/v1/api/status/services/nope")
      expect(missing.status).toBe(404)
      expect(missing.body).toEqual({
        _tag: "ServiceNotFound",
        id: "nope",
        message: "no service is registered under \"nope\""
      })
      // the app's own endpoint still answers
      expect((yield* getJson("/health")).body).toBe("ok")
    }).pipe(Effect.provide(TestLive)))

  it("the OpenAPI documents show both paths (standalone api and an app that adds the group)", () => {
    for (const spec of [OpenApi.fromApi(StatusApi.api), OpenApi.fromApi(AppApi)]) {
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining([
        "/v1/api/status/services",
        "/v1/api/status/services/{id}"
      ]))
      const list = spec.paths["/v1/api/status/services"]!.get!
      expect(Object.keys(list.responses)).toContain("200")
      const one = spec.paths["/v1/api/status/services/{id}"]!.get!
      expect(Object.keys(one.responses)).toEqual(expect.arrayContaining(["200", "404"]))
      expect(one.parameters.map((p) => [p.name, p.in])).toEqual([["id", "path"]])
    }
    expect(Object.keys(OpenApi.fromApi(AppApi).paths)).toContain("/health")
  })
})

describe("an id with a slash or other reserved characters is reachable, encoded", () => {
  const ids = ["billing/v2", "team a/search?beta", "100%/x#y"]
  const registerAll = Effect.forEach(ids, (id) => clientAnswering(200, { serviceName: id, id }))
  const everyIdAnswers = Effect.gen(function*() {
    for (const id of ids) {
      const response = yield* getJson(`/v1/api/status/services/${encodeURIComponent(id)}`)
      expect(response.status, id).toBe(200)
      expect((response.body as { service?: unknown }).service, id).toBe(id)
    }
    // an id that differs only by what an encoded slash would hide is not found, and named as asked
    const missing = yield* getJson(`/v1/api/status/services/${encodeURIComponent("billing/v3")}`)
    expect(missing.status).toBe(404)
    expect((missing.body as { id?: unknown }).id).toBe("billing/v3")
  })

  it.scoped("on StatusApi.router; written with a raw slash, a 404 that says how to ask", () =>
    Effect.gen(function*() {
      yield* HttpServer.serveEffect(StatusApi.router)
      yield* registerAll
      yield* everyIdAnswers
      const raw = yield* getJson("/v1/api/status/services/billing/v2")
      expect(raw).toEqual({
        status: 404,
        contentType: "application/json",
        body: {
          _tag: "ServiceNotFound",
          id: "billing/v2",
          message:
            "no service is registered under \"billing/v2\" written with a raw \"/\": an id is asked for encoded, as /v1/api/status/services/billing%2Fv2"
        }
      })
    }).pipe(Effect.provide(TestLive)))

  it.scoped("on StatusApi.group served through HttpApi", () =>
    Effect.gen(function*() {
      yield* Layer.build(AppLive)
      yield* registerAll
      yield* everyIdAnswers
    }).pipe(Effect.provide(TestLive)))
})
