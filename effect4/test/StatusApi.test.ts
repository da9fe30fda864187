/**
 * The registry and the monitoring endpoint, served for real by `NodeHttpServer` on 127.0.0.1
 * (port 0) and asked over a socket; the entries it lists are breakers and clients under the
 * TestClock (or hand-made statuses), so that their states and timestamps are exact.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as OpenApi from "effect/http-api/OpenApi"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, ResilientServiceClient, ServiceRegistry, ServiceStatus, StatusApi } from "../src/index.js"
import type { BreakerState } from "../src/ServiceStatus.js"
import * as Testing from "../src/Testing.js"
import { pathOf } from "./utils/configErrors.js"
import { getJson, getText, serve, TestLive } from "./utils/statusServer.js"

const T0 = Date.parse("2025-11-15T10:30:45.000Z")
const iso = (millis: number) => new Date(millis).toISOString()

/** A hand-made entry whose status the test sets; the registry reads it when asked. */
const entry = (service: string, state: BreakerState = "closed") => {
  let current = ServiceStatus.fromMillis({
    service,
    state,
    failureCount: 0,
    lastFailure: undefined,
    lastStateChange: T0
  })
  return {
    status: Effect.sync(() => current),
    set: (fields: Partial<Parameters<typeof ServiceStatus.fromMillis>[0]>) => {
      current = ServiceStatus.fromMillis({
        service: current.service,
        state: current.state,
        failureCount: current.failureCount,
        lastFailure: Option.getOrUndefined(Option.map(current.lastFailure, (d) => d.getTime())),
        lastStateChange: current.lastStateChange.getTime(),
        ...fields
      })
    }
  }
}

/** Registers "chroma" (closed) and "billing" (open since T0 + 5 s, one failure) in that order. */
const twoEntries = Effect.gen(function*() {
  const registry = yield* ServiceRegistry.ServiceRegistry
  const chroma = entry("Chroma Server")
  const billing = entry("Billing")
  billing.set({ state: "open", failureCount: 1, lastFailure: T0 + 5_000, lastStateChange: T0 + 5_000 })
  yield* registry.register("chroma", chroma.status)
  yield* registry.register("billing", billing.status)
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
  it.effect("the server listens on 127.0.0.1 with an ephemeral port", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const address = HttpServer.formatAddress(server.address)
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(Number(address.split(":").at(-1))).toBeGreaterThan(0)
    }).pipe(Effect.provide(TestLive)))

  it.effect("GET /v1/api/status/services lists every registered entry, keyed by id, in wire JSON", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* twoEntries
      const response = yield* getJson("/v1/api/status/services")
      expect(response.status).toBe(200)
      expect(response.contentType).toMatch(/^application\/json/)
      expect(response.body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      // registration order
      expect(Object.keys(response.body as object)).toEqual(["chroma", "billing"])
    }).pipe(Effect.provide(TestLive)))

  it.effect("GET /v1/api/status/services/:id answers one status, read when asked", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      const { billing } = yield* twoEntries
      const chroma = yield* getJson("/v1/api/status/services/chroma")
      expect(chroma.status).toBe(200)
      expect(chroma.contentType).toMatch(/^application\/json/)
      expect(chroma.body).toEqual(chromaJson)
      expect((yield* getJson("/v1/api/status/services/billing")).body).toEqual(billingOpenJson)
      billing.set({ state: "half_open", lastStateChange: T0 + 65_000 })
      const later = yield* getJson("/v1/api/status/services/billing")
      expect(later.body).toEqual({ ...billingOpenJson, state: "half_open", last_state_change: iso(T0 + 65_000) })
    }).pipe(Effect.provide(TestLive)))

  it.effect("an unknown id answers 404 with a JSON error body", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* twoEntries
      const response = yield* getJson("/v1/api/status/services/nope")
      expect(response.status).toBe(404)
      expect(response.contentType).toMatch(/^application\/json/)
      expect(response.body).toEqual({
        _tag: "ServiceNotFound",
        id: "nope",
        message: "no service is registered under \"nope\""
      })
    }).pipe(Effect.provide(TestLive)))

  it.effect("an empty registry lists {}", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      const response = yield* getJson("/v1/api/status/services")
      expect(response.status).toBe(200)
      expect(response.body).toEqual({})
    }).pipe(Effect.provide(TestLive)))

  it.effect("an entry whose scope closed is no longer listed", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      const registry = yield* ServiceRegistry.ServiceRegistry
      yield* registry.register("auth", entry("Auth").status)
      const scope = yield* Scope.make()
      yield* Scope.provide(registry.register("git", entry("Git").status), scope)
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

  it.effect("a second live entry with the same id fails with a ConfigError naming [\"id\"] and is not registered", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const first = yield* Scope.make()
      yield* Scope.provide(registry.register("chroma", entry("Chroma Server").status), first)

      const second = yield* Effect.flip(registry.register("chroma", entry("Chroma Replica").status))
      expect(second).toBeInstanceOf(Config.ConfigError)
      expect(pathOf(second)).toEqual(["id"])
      expect(second.message).toContain("\"chroma\" is already registered by another live client or breaker")
      expect(second.message).toContain("[\"id\"]")

      // the listing still shows the first entry, and only it
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({ chroma: chromaJson })

      // the failed attempt left nothing behind: once the first is gone the id is free again
      yield* Scope.close(first, Exit.void)
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({})
      yield* registry.register("chroma", entry("Chroma Replica").status)
      expect((yield* getJson("/v1/api/status/services/chroma")).body).toMatchObject({ service: "Chroma Replica" })
    }).pipe(Effect.provide(TestLive)))

  it.effect("a standalone breaker is listed with registry.register(id, breaker.status)", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
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
      expect(pathOf(duplicate)).toEqual(["id"])
      expect(Object.keys((yield* getJson("/v1/api/status/services")).body as object)).toEqual(["git"])
    }).pipe(Effect.provide(TestLive)))

  it.effect("the routes merge with an app's own routes", () =>
    Effect.gen(function*() {
      yield* serve(Layer.mergeAll(
        HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
        StatusApi.router
      ))
      yield* twoEntries
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      expect((yield* getJson("/v1/api/status/services/chroma")).body).toEqual(chromaJson)
      expect((yield* getText("/health")).body).toBe("ok")
    }).pipe(Effect.provide(TestLive)))

  it.effect("StatusApi.prefixed serves the routes under a prefix, and only there", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router.pipe(StatusApi.prefixed("/internal")))
      yield* twoEntries
      expect((yield* getJson("/internal/v1/api/status/services")).body).toEqual({
        chroma: chromaJson,
        billing: billingOpenJson
      })
      expect((yield* getJson("/internal/v1/api/status/services/billing")).body).toEqual(billingOpenJson)
      expect((yield* getJson("/internal/v1/api/status/services/nope")).status).toBe(404)
      expect((yield* getJson("/v1/api/status/services")).status).toBe(404)
    }).pipe(Effect.provide(TestLive)))
})

describe("ServiceRegistry without the endpoint", () => {
  it.effect("get and statuses read the live statuses, in registration order", () =>
    Effect.gen(function*() {
      const registry = yield* ServiceRegistry.ServiceRegistry
      const billing = entry("Billing")
      yield* registry.register("billing", billing.status)
      yield* registry.register("auth", entry("Auth").status)
      expect(Option.map(yield* registry.get("billing"), (s) => s.failureCount)).toEqual(Option.some(0))
      billing.set({ failureCount: 1 })
      expect(Option.map(yield* registry.get("billing"), (s) => s.failureCount)).toEqual(Option.some(1))
      expect(Option.isNone(yield* registry.get("nope"))).toBe(true)
      const statuses = yield* registry.statuses
      expect(Object.keys(statuses)).toEqual(["billing", "auth"])
      expect(statuses["billing"]!.failureCount).toBe(1)
      expect(ServiceStatus.toJson(statuses["auth"]!)).toEqual({
        service: "Auth",
        state: "closed",
        failure_count: 0,
        last_failure: null,
        last_state_change: iso(T0)
      })
    }).pipe(Effect.provide(ServiceRegistry.layer)))
})

// An app built with HttpApi that adds the status group beside its own endpoints.
const HealthGroup = HttpApiGroup.make("health").add(HttpApiEndpoint.get("ping", "/health", { success: Schema.String }))
const AppApi = HttpApi.make("app").add(HealthGroup).add(StatusApi.group)
const HealthLive = HttpApiBuilder.group(
  AppApi,
  "health",
  (handlers) => handlers.handle("ping", () => Effect.succeed("ok"))
)
const AppLive = HttpApiBuilder.layer(AppApi).pipe(Layer.provide([HealthLive, StatusApi.handlers(AppApi)]))

describe("StatusApi.group + StatusApi.handlers(api) (HttpApi, served by NodeHttpServer)", () => {
  it.effect("the same endpoints, the same JSON, the same 404", () =>
    Effect.gen(function*() {
      yield* serve(AppLive)
      yield* twoEntries
      const list = yield* getJson("/v1/api/status/services")
      expect(list.status).toBe(200)
      expect(list.contentType).toMatch(/^application\/json/)
      expect(list.body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      expect(Object.keys(list.body as object)).toEqual(["chroma", "billing"])
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
      expect(one.parameters!.map((p) => [p.name, p.in])).toEqual([["id", "path"]])
    }
    expect(Object.keys(OpenApi.fromApi(AppApi).paths)).toContain("/health")
  })
})

describe("an id with a slash or other reserved characters is reachable, encoded", () => {
  const ids = ["billing/v2", "team a/search?beta", "100%/x#y"]
  const registerAll = Effect.gen(function*() {
    const registry = yield* ServiceRegistry.ServiceRegistry
    for (const id of ids) yield* registry.register(id, entry(id).status)
  })
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

  it.effect("on StatusApi.router; written with a raw slash, a 404 that says how to ask", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
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

  it.effect("on StatusApi.group served through HttpApi", () =>
    Effect.gen(function*() {
      yield* serve(AppLive)
      yield* registerAll
      yield* everyIdAnswers
    }).pipe(Effect.provide(TestLive)))
})

/** A client on the fake upstream that always answers `answerStatus`, listed in the registry. */
const clientAnswering = (answerStatus: number, options: Partial<ResilientServiceClient.Options>) => {
  const upstream = Testing.fakeUpstream({ "*": Testing.json(answerStatus) })
  return ResilientServiceClient.make({ baseUrl: "http://service:8080", ...options }).pipe(
    Effect.provide(upstream.layer),
    Effect.tap(ResilientServiceClient.register),
    Effect.map((client) => ({ client, upstream }))
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
  expect(failed._tag === "HttpClientError" && failed.reason._tag).toBe("StatusCodeError")
  expect((yield* billing.client.status).state).toBe("open")
  return { chroma, billing }
})

describe("resilient clients on the endpoint (served by NodeHttpServer on 127.0.0.1)", () => {
  it.effect("clients registered with ResilientServiceClient.register are listed, keyed by id, in wire JSON", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* twoClients
      const response = yield* getJson("/v1/api/status/services")
      expect(response.status).toBe(200)
      expect(response.body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      expect(Object.keys(response.body as object)).toEqual(["chroma", "billing"])
    }).pipe(Effect.provide(TestLive)))

  it.effect("a client's status is read when asked: half_open shows once the recovery timeout passed, without any call", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* twoClients
      expect((yield* getJson("/v1/api/status/services/billing")).body).toEqual(billingOpenJson)
      // the recovery timeout (60 s by default) passes
      yield* TestClock.adjust("60 seconds")
      const later = yield* getJson("/v1/api/status/services/billing")
      expect(later.body).toEqual({ ...billingOpenJson, state: "half_open", last_state_change: iso(T0 + 65_000) })
    }).pipe(Effect.provide(TestLive)))

  it.effect("a client whose scope closed is no longer listed; a live duplicate id fails with a ConfigError [\"id\"]", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* TestClock.setTime(T0)
      const first = yield* Scope.make()
      yield* Scope.provide(clientAnswering(200, { serviceName: "Chroma Server", id: "chroma" }), first)
      const second = yield* Effect.flip(clientAnswering(200, { serviceName: "Chroma Replica", id: "chroma" }))
      expect(second).toBeInstanceOf(Config.ConfigError)
      expect(pathOf(second)).toEqual(["id"])
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({ chroma: chromaJson })

      yield* Scope.close(first, Exit.void)
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({})
      yield* clientAnswering(200, { serviceName: "Chroma Replica", id: "chroma" })
      expect((yield* getJson("/v1/api/status/services/chroma")).body).toMatchObject({ service: "Chroma Replica" })
    }).pipe(Effect.provide(TestLive)))

  it.effect("the id defaults to the service name, which defaults to hostname:port", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      yield* clientAnswering(200, { baseUrl: "http://chroma:6003", serviceName: "Chroma Server" })
      yield* clientAnswering(200, { baseUrl: "http://fs-service:7000" })
      const listed = yield* getJson("/v1/api/status/services")
      expect(Object.keys(listed.body as object)).toEqual(["Chroma Server", "fs-service:7000"])
    }).pipe(Effect.provide(TestLive)))

  it.effect("the HttpApi group lists the same clients", () =>
    Effect.gen(function*() {
      yield* serve(AppLive)
      yield* twoClients
      expect((yield* getJson("/v1/api/status/services")).body).toEqual({ chroma: chromaJson, billing: billingOpenJson })
      expect((yield* getJson("/v1/api/status/services/billing")).body).toEqual(billingOpenJson)
    }).pipe(Effect.provide(TestLive)))

  it.effect("without a registry a client builds and calls normally, even with a duplicate id", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200) })
      const unlisted = ResilientServiceClient.make({ baseUrl: "http://service:8080", id: "same" }).pipe(
        Effect.provide(upstream.layer)
      )
      const a = yield* unlisted
      const b = yield* unlisted
      expect((yield* a.get("/")).status).toBe(200)
      expect((yield* b.get("/")).status).toBe(200)
      expect(a.id).toBe("same")
    }))
})
