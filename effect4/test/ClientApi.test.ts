/**
 * The client's API before 1.0: registration as an explicit dependency, grouped options whose
 * conflicts are errors, a shared breaker, the `transform` of any `HttpClient`, per-call events,
 * and option errors that name the client and the configuration key. Fake transports
 * (src/Testing.ts) and TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, Presets, ResilientServiceClient, ServiceRegistry } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { issuesOf } from "./utils/configErrors.js"

const baseUrl = "http://billing.test"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

/** The one issue of a `ConfigError`: its path and message (several issues are a failed test). */
const invalidData = (error: Config.ConfigError) => {
  const issues = issuesOf(error)
  if (issues === undefined || issues.length !== 1) return expect.fail(`expected one issue, got ${String(error)}`)
  return { path: issues[0]!.path, message: issues[0]!.message }
}

/** Provides configuration read from these variables. */
const withEnv = (env: Record<string, string>) => Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))

/** The error of building a client layer with a fake transport, a registry and these variables. */
const layerError = <I>(
  layer: Layer.Layer<I, Config.ConfigError, HttpClient.HttpClient | ServiceRegistry.ServiceRegistry>,
  env: Record<string, string>
) =>
  Effect.flip(
    Layer.build(layer).pipe(
      Effect.provide([Testing.fakeUpstream().layer, ServiceRegistry.layer]),
      withEnv(env),
      Effect.scoped
    )
  )

describe("the registry is an explicit dependency", () => {
  it.effect("layer needs a ServiceRegistry: Layer.merge instead of provideMerge does not compile", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "*": Testing.json(200, {}) })
      const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl, id: "billing" })
      const listed = ServiceRegistry.ServiceRegistry.use((registry) => registry.statuses)

      // the wrong wiring: the client's layer gets no registry, the merged one goes to the program
      const wrong = Layer.merge(BillingLive, ServiceRegistry.layer).pipe(Layer.provide(upstream.layer))
      const compiles = (_: Effect.Effect<unknown, unknown, never>) => true
      // @ts-expect-error ServiceRegistry is still required: the client's layer was not given one
      expect(compiles(Effect.provide(listed, wrong))).toBe(true)

      // the right wiring lists the client in the registry the program reads
      const right = BillingLive.pipe(Layer.provideMerge(ServiceRegistry.layer), Layer.provide(upstream.layer))
      expect(Object.keys(yield* Effect.provide(listed, right))).toEqual(["billing"])
    }))

  it.effect("make lists nothing by itself; register lists the client for the life of the scope", () =>
    Effect.gen(function*() {
      const registry = yield* ServiceRegistry.ServiceRegistry
      const upstream = Testing.fakeUpstream()
      const client = yield* ResilientServiceClient.make({ baseUrl, id: "billing" }).pipe(
        Effect.provide(upstream.layer)
      )
      expect(Object.keys(yield* registry.statuses)).toEqual([])
      yield* ResilientServiceClient.register(client)
      expect(Object.keys(yield* registry.statuses)).toEqual(["billing"])
    }).pipe(Effect.provide(ServiceRegistry.layer)))
})

describe("grouped options", () => {
  const build = (options: ResilientServiceClient.Options, upstream = Testing.fakeUpstream()) =>
    ResilientServiceClient.make(options).pipe(Effect.provide(upstream.layer))

  it.effect("retry, breaker and bulkhead groups take effect", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/x": Testing.json(503) })
      const client = yield* build({
        baseUrl,
        retry: { maxAttempts: 2, backoff: "100 millis" },
        breaker: { failureThreshold: 2, recoveryTimeout: "5 seconds" },
        bulkhead: { maxConcurrent: 1, maxQueued: 0 }
      }, upstream)
      const call = yield* Effect.forkChild(Effect.exit(client.get("/x")))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(call)
      expect(upstream.requests().map((r) => r.at)).toEqual([0, 100])
      expect((yield* client.status).state).toBe("open")
      yield* TestClock.adjust("5 seconds")
      expect((yield* client.status).state).toBe("half_open")
    }))

  it.effect("the deprecated flat options still work", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/x": Testing.json(503) })
      const client = yield* build({ baseUrl, maxAttempts: 2, backoff: "300 millis", failureThreshold: 2 }, upstream)
      const call = yield* Effect.forkChild(Effect.exit(client.get("/x")))
      yield* TestClock.adjust("300 millis")
      yield* Fiber.join(call)
      expect(upstream.requests().map((r) => r.at)).toEqual([0, 300])
      expect((yield* client.status).state).toBe("open")
    }))

  const conflicts: ReadonlyArray<readonly [string, Partial<ResilientServiceClient.Options>, ReadonlyArray<string>]> = [
    [
      "failureThreshold with strategy",
      { failureThreshold: 3, breaker: { strategy: CircuitBreaker.consecutiveFailures(3) } },
      ["failureThreshold"]
    ],
    [
      "breaker.failureThreshold with breaker.strategy",
      { breaker: { failureThreshold: 3, strategy: CircuitBreaker.consecutiveFailures(3) } },
      ["breaker", "failureThreshold"]
    ],
    ["maxAttempts flat and in retry", { maxAttempts: 2, retry: { maxAttempts: 3 } }, ["retry", "maxAttempts"]],
    ["backoff flat and in retry", { backoff: "1 second", retry: { backoff: "2 seconds" } }, ["retry", "backoff"]],
    [
      "recoveryTimeout flat and in breaker",
      { recoveryTimeout: "1 minute", breaker: { recoveryTimeout: "2 minutes" } },
      ["breaker", "recoveryTimeout"]
    ],
    ["maxConcurrent flat and in bulkhead", { maxConcurrent: 2, bulkhead: { maxConcurrent: 3 } }, [
      "bulkhead",
      "maxConcurrent"
    ]],
    ["a retry group that is not an object", { retry: 3 as unknown as ResilientServiceClient.RetryOptions }, ["retry"]],
    ["an invalid grouped value", { retry: { backoff: -1 } }, ["retry", "backoff"]]
  ]
  for (const [name, options, path] of conflicts) {
    it.effect(`${name} is a ConfigError at ${path.join(".")}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(build({ baseUrl, id: "billing", ...options }))
        const data = invalidData(error)
        expect(data.path).toEqual(path)
        expect(data.message).toMatch(/^\[billing\] /)
      }))
  }

  it.effect("breaker settings beside a shared breaker are a ConfigError", () =>
    Effect.gen(function*() {
      const shared = yield* CircuitBreaker.make({ name: "Billing" })
      const error = yield* Effect.flip(build({ baseUrl, breaker: shared, failureThreshold: 2 }))
      expect(invalidData(error)).toEqual({
        path: ["failureThreshold"],
        message:
          "[billing.test:80] failureThreshold cannot stand beside a shared breaker: the breaker given as `breaker` keeps its own settings"
      })
    }))
})

describe("a shared breaker", () => {
  it.effect("two clients and a raw effect share one breaker: failures of one open it for all", () =>
    Effect.gen(function*() {
      const shared = yield* CircuitBreaker.make({ name: "Billing", failureThreshold: 2 })
      const upstream = Testing.fakeUpstream({ "/v1/charge": Testing.json(503), "/v2/charge": Testing.json(200, {}) })
      const v1 = yield* ResilientServiceClient.make({ baseUrl: `${baseUrl}/v1`, maxAttempts: 1, breaker: shared })
        .pipe(Effect.provide(upstream.layer))
      const v2 = yield* ResilientServiceClient.make({ baseUrl: `${baseUrl}/v2`, maxAttempts: 1, breaker: shared })
        .pipe(Effect.provide(upstream.layer))
      expect(v1.breaker).toBe(shared)
      yield* Effect.exit(v1.post("/charge"))
      yield* Effect.exit(v1.post("/charge"))
      expect(yield* shared.state).toBe("open")
      const rejected = yield* Effect.flip(v2.post("/charge"))
      expect(rejected._tag).toBe("ServiceUnavailable")
      const raw = yield* Effect.flip(shared(Effect.succeed("raw")))
      expect(raw._tag).toBe("ServiceUnavailable")
      expect(upstream.requests().map((r) => r.path)).toEqual(["/v1/charge", "/v1/charge"])
      expect((yield* v2.status).service).toBe("Billing")
    }))

  it.effect("a look-alike breaker is a ConfigError, not a defect", () =>
    Effect.gen(function*() {
      const real = yield* CircuitBreaker.make()
      const lookAlike = Object.assign(<A, E, R>(effect: Effect.Effect<A, E, R>) => effect, {
        [CircuitBreaker.TypeId]: CircuitBreaker.TypeId,
        status: real.status,
        state: real.state,
        changes: real.changes
      })
      const error = yield* Effect.flip(
        ResilientServiceClient.make({ baseUrl, breaker: lookAlike as unknown as CircuitBreaker.CircuitBreaker }).pipe(
          Effect.provide(Testing.fakeUpstream().layer)
        )
      )
      expect(invalidData(error).path).toEqual(["breaker"])
    }))
})

describe("transform: the resilience of a client for any HttpClient", () => {
  it.effect("retries, times out, opens its breaker, in both forms of the dual", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/slow": Testing.hang, "/down": Testing.json(503) })
      const base = upstream.client.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl)))
      const shared = yield* CircuitBreaker.make({ name: "Billing", failureThreshold: 4 })
      const piped = yield* base.pipe(
        ResilientServiceClient.transform({ serviceName: "Billing", timeout: "1 second", breaker: shared })
      )
      const direct = yield* ResilientServiceClient.transform(base, {
        serviceName: "Billing",
        maxAttempts: 2,
        retry: { backoff: "10 millis" },
        breaker: shared
      })
      const slow = yield* Effect.forkChild(Effect.flip(piped.get("/slow")))
      yield* TestClock.adjust("1 second") // attempt 1 times out; backoff 1 s
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second") // attempt 2 times out; backoff 2 s
      yield* TestClock.adjust("2 seconds")
      yield* TestClock.adjust("1 second") // attempt 3 times out
      const timedOut = yield* Fiber.join(slow)
      expect(timedOut._tag).toBe("TimeoutError")
      expect((yield* shared.status).failureCount).toBe(3)
      const down = yield* Effect.forkChild(Effect.flip(direct.get("/down")))
      yield* TestClock.adjust("10 millis")
      expect((yield* Fiber.join(down))._tag).toBe("ServiceUnavailable")
      expect(upstream.requests().map((r) => r.url)).toEqual([
        `${baseUrl}/slow`,
        `${baseUrl}/slow`,
        `${baseUrl}/slow`,
        `${baseUrl}/down`
      ])
    }))

  it.effect("without baseUrl, serviceName is required", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(ResilientServiceClient.transform(Testing.fakeUpstream().client, { maxAttempts: 2 }))
      )
      expect(invalidData(error).path).toEqual(["serviceName"])
    }))
})

describe("per-call events", () => {
  it.effect("retry, timeout, failure with its classification, success, rejection", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({
        "/flaky": [Testing.hang, Testing.json(503), Testing.json(200, {})],
        "/missing": Testing.json(404)
      })
      const client = yield* ResilientServiceClient.make({
        baseUrl,
        serviceName: "Billing",
        timeout: "1 second",
        retry: { backoff: "100 millis" },
        breaker: { failureThreshold: 3 }
      }).pipe(Effect.provide(upstream.layer))
      const events = yield* client.subscribeEvents
      const flaky = yield* Effect.forkChild(client.get("/flaky?token=secret"))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("100 millis")
      yield* TestClock.adjust("200 millis")
      expect((yield* Fiber.join(flaky)).status).toBe(200)
      yield* Effect.exit(client.get("/missing"))
      yield* client.breaker.isolate
      yield* Effect.exit(client.get("/flaky"))
      const seen = (yield* PubSub.takeAll(events)).map((event) => {
        const about = `${event.service} ${event.method} ${event.path}`
        switch (event._tag) {
          case "Success":
            return `${about} Success ${event.attempt}`
          case "Failure":
            return `${about} Failure ${event.attempt} ${event.outcome} ${
              event.error._tag === "HttpClientError" ? event.error.reason._tag : event.error._tag
            }`
          case "Timeout":
            return `${about} Timeout ${event.attempt} ${Duration.format(event.timeout)}`
          case "Retry":
            return `${about} Retry ${event.attempt} ${Duration.format(event.delay)}`
          case "Rejection":
            return `${about} Rejection ${event.error._tag}`
          default:
            return `${about} ${event._tag}`
        }
      })
      expect(seen).toEqual([
        "Billing GET /flaky Timeout 1 1s",
        "Billing GET /flaky Failure 1 failed TimeoutError",
        "Billing GET /flaky Retry 1 100ms",
        "Billing GET /flaky Failure 2 failed StatusCodeError",
        "Billing GET /flaky Retry 2 200ms",
        "Billing GET /flaky Success 3",
        "Billing GET /missing Failure 1 answered StatusCodeError",
        "Billing GET /flaky Rejection ServiceUnavailable"
      ])
    }))

  it.effect("events is a Stream that sees the calls made after it subscribed", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/ok": Testing.json(200, {}) })
      const client = yield* ResilientServiceClient.make({ baseUrl, serviceName: "Billing" }).pipe(
        Effect.provide(upstream.layer)
      )
      yield* client.get("/ok") // nobody listens: no event is kept for later
      const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(client.events, 2)))
      // the stream subscribes when it starts: call until it has seen two successes
      yield* Effect.repeat(client.get("/ok"), { until: () => collected.pollUnsafe() !== undefined })
      const [first, second] = yield* Fiber.join(collected)
      expect([first?._tag, second?._tag]).toEqual(["Success", "Success"])
    }))
})

describe("errors that name the culprit", () => {
  it.effect("with two clients from Config, a bad B_URL names the key, the client and the option", () =>
    Effect.gen(function*() {
      class A extends Context.Service<A, ResilientServiceClient.ResilientServiceClient>()("app/A") {}
      class B extends Context.Service<B, ResilientServiceClient.ResilientServiceClient>()("app/B") {}
      const ALive = ResilientServiceClient.layerConfig(A, { baseUrl: Config.String("A_URL") })
      const BLive = ResilientServiceClient.layerConfig(B, {
        baseUrl: Config.String("B_URL").pipe(Config.withDefault("http://b:80")),
        timeout: Config.Duration("B_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5)))
      })
      const build = (env: Record<string, string>) =>
        Effect.flip(
          Layer.build(Layer.mergeAll(ALive, BLive)).pipe(
            Effect.provide([Testing.fakeUpstream().layer, ServiceRegistry.layer]),
            withEnv(env),
            Effect.scoped
          )
        )
      const error = yield* build({ A_URL: "http://a:80", B_URL: "chroma:6003" })
      expect(invalidData(error)).toEqual({
        path: ["B_URL"],
        message:
          "[app/B] baseUrl must be an absolute http(s) URL with its scheme, such as \"http://chroma:6003\", got \"chroma:6003\"; did you mean \"http://chroma:6003\"?"
      })
      expect(error.message).toContain(`at ["B_URL"]`)
    }))

  it.effect("a grouped option read from Config is reported at its key too", () =>
    Effect.gen(function*() {
      const BillingLive = ResilientServiceClient.layerConfig(Billing, {
        baseUrl: Config.succeed(baseUrl),
        id: Config.succeed("billing"),
        // a duration written as text, as an environment variable gives it
        retry: { backoff: Config.map(Config.String("BILLING_BACKOFF"), (text) => text as Duration.Input) }
      })
      const error = yield* layerError(BillingLive, { BILLING_BACKOFF: "soon" })
      expect(invalidData(error)).toEqual({
        path: ["BILLING_BACKOFF"],
        message:
          "[billing] retry.backoff must be a duration such as \"10 seconds\" or a number of milliseconds, got \"soon\""
      })
    }))

  it.effect("make names the client by id, service name or host", () =>
    Effect.gen(function*() {
      const fails = (options: ResilientServiceClient.Options) =>
        Effect.flip(Effect.scoped(ResilientServiceClient.make(options))).pipe(
          Effect.provide(Testing.fakeUpstream().layer),
          Effect.map(invalidData)
        )
      expect(yield* fails({ baseUrl, id: "billing", maxAttempts: 0 })).toEqual({
        path: ["maxAttempts"],
        message: "[billing] maxAttempts must be a positive integer, got 0"
      })
      expect((yield* fails({ baseUrl, serviceName: "Billing", timeout: -1 })).message).toMatch(/^\[Billing\] timeout /)
      expect((yield* fails({ baseUrl, maxAttempts: 1.5 })).message).toMatch(/^\[billing\.test:80\] maxAttempts /)
    }))

  it.effect("a failed layer leaves nothing listed", () =>
    Effect.gen(function*() {
      const registry = yield* ServiceRegistry.ServiceRegistry
      const exit = yield* Effect.exit(
        Layer.build(
          ResilientServiceClient.layer(Billing, { baseUrl, id: "billing", maxAttempts: 0 }).pipe(
            Layer.provide(Testing.fakeUpstream().layer)
          )
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* registry.statuses).toEqual({})
    }).pipe(Effect.provide(ServiceRegistry.layer)))
})

describe("events end with the client", () => {
  it.effect("a stream of events ends when the client's scope closes", () =>
    Effect.gen(function*() {
      const upstream = Testing.fakeUpstream({ "/ok": Testing.json(200, {}) })
      const scope = yield* Scope.make()
      const client = yield* Scope.provide(ResilientServiceClient.make({ baseUrl }), scope).pipe(
        Effect.provide(upstream.layer)
      )
      const seenOne = yield* Deferred.make<void>()
      const watched = yield* Effect.forkChild(
        Stream.runCount(Stream.tap(client.events, () => Deferred.succeed(seenOne, undefined)))
      )
      // the stream subscribes when it starts: call until it has seen an event
      yield* Effect.repeat(Effect.andThen(client.get("/ok"), Deferred.isDone(seenOne)), { until: (done) => done })
      yield* Scope.close(scope, Exit.void)
      // without the end of the client's events, this would wait for ever
      expect(yield* Fiber.join(watched)).toBeGreaterThanOrEqual(1)
    }))
})

describe("unknown option names", () => {
  const fails = (options: Record<string, unknown>) =>
    Effect.flip(Effect.scoped(ResilientServiceClient.make({ baseUrl, id: "billing", ...options }))).pipe(
      Effect.provide(Testing.fakeUpstream().layer)
    )
  // given through a variable or a spread, as TypeScript does not check them there
  const typos: ReadonlyArray<readonly [Record<string, unknown>, ReadonlyArray<string>, string]> = [
    [{ maxRetries: 5 }, ["maxRetries"], "is not a client option; did you mean maxAttempts?"],
    [{ failureTreshold: 2 }, ["failureTreshold"], "is not a client option; did you mean failureThreshold?"],
    [{ retry: { backof: "2 seconds" } }, ["retry", "backof"], "is not a retry option; did you mean retry.backoff?"],
    [{ circuitBreaker: { failureThreshold: 2 } }, ["circuitBreaker"], "is not a client option; did you mean breaker?"],
    [{ max_retries: 5 }, ["max_retries"], "is not a client option; did you mean maxAttempts?"],
    [
      { breaker: { isFailure: () => true } },
      ["breaker", "isFailure"],
      "is not a breaker option; it is a client option, given at the top level"
    ],
    [
      { retry: { timeout: "1 second" } },
      ["retry", "timeout"],
      "is not a retry option; it is a client option, given at the top level"
    ],
    [
      { bulkhead: { maxConcurrent: 2, queue: 5 } },
      ["bulkhead", "queue"],
      "is not a bulkhead option (the bulkhead options are maxConcurrent, maxQueued)"
    ],
    [
      { retryBudget: { tokens: 10 } },
      ["retryBudget", "tokens"],
      "is not a retry budget option (the retry budget options are maxTokens, tokenRatio)"
    ]
  ]
  for (const [options, path, message] of typos) {
    it.effect(`${path.join(".")} is a ConfigError that suggests the nearest name`, () =>
      Effect.gen(function*() {
        expect(invalidData(yield* fails(options))).toEqual({
          path,
          message: `[billing] ${path.join(".")} ${message}`
        })
      }))
  }

  it.effect("every unknown name is reported at once; a preset spread with a typo is caught", () =>
    Effect.gen(function*() {
      const mine = { ...Presets.production, maxRetries: 5, retry: { backof: "1 second" } }
      const error = yield* fails(mine)
      const paths = issuesOf(error)?.map((issue) => issue.path.join("."))
      expect(paths).toEqual(["maxRetries", "retry.backof"])
    }))

  it.effect("under layerConfig, the unknown name is reported at its configuration key", () =>
    Effect.gen(function*() {
      const wrapped = { baseUrl: Config.succeed(baseUrl), maxRetries: Config.Int("BILLING_MAX_RETRIES") }
      const error = yield* layerError(
        ResilientServiceClient.layerConfig(Billing, wrapped as Config.Wrap<ResilientServiceClient.Options>),
        { BILLING_MAX_RETRIES: "5" }
      )
      expect(invalidData(error)).toEqual({
        path: ["BILLING_MAX_RETRIES"],
        message: "[billing.test:80] maxRetries is not a client option; did you mean maxAttempts?"
      })
    }))
})

describe("messages say what was typed and what is wrong", () => {
  const baseUrlError = (value: string) =>
    Effect.flip(Effect.scoped(ResilientServiceClient.make({ baseUrl: value, id: "chroma" }))).pipe(
      Effect.provide(Testing.fakeUpstream().layer),
      Effect.map((error) => invalidData(error).message)
    )

  it.effect("a base URL: a scheme without \"://\", a port out of range, no host, no scheme", () =>
    Effect.gen(function*() {
      expect(yield* baseUrlError("http//chroma:6003")).toBe(
        "[chroma] baseUrl must start with its scheme and \"://\", such as \"http://chroma:6003\", got \"http//chroma:6003\"; did you mean \"http://chroma:6003\"?"
      )
      expect(yield* baseUrlError("http://chroma:99999")).toBe(
        "[chroma] baseUrl has the port 99999, out of range (a port is 1 to 65535), got \"http://chroma:99999\""
      )
      expect(yield* baseUrlError("http://chroma:60o3")).toBe(
        "[chroma] baseUrl has a port that is not a number (\"60o3\"), got \"http://chroma:60o3\""
      )
      expect(yield* baseUrlError("http://")).toBe(
        "[chroma] baseUrl must name a host after \"http://\", got \"http://\""
      )
      expect(yield* baseUrlError("htp://chroma:6003")).toBe(
        "[chroma] baseUrl must use http or https, got the scheme \"htp\" in \"htp://chroma:6003\"; did you mean \"http://chroma:6003\"?"
      )
      // credentials stay hidden in the suggestion
      const withSecret = yield* baseUrlError("http//svc:zqSecret1@chroma:6003")
      expect(withSecret).toContain("did you mean \"http://…@chroma:6003\"?")
      expect(withSecret).not.toContain("zqSecret1")
    }))

  it.effect("under layerConfig, a value read as something else shows the text of its key", () =>
    Effect.gen(function*() {
      const ChromaLive = ResilientServiceClient.layerConfig(Billing, {
        baseUrl: Config.succeed("http://chroma:6003"),
        timeout: Config.Duration("CHROMA_TIMEOUT")
      })
      const error = yield* layerError(ChromaLive, { CHROMA_TIMEOUT: "-5 seconds" })
      expect(invalidData(error)).toEqual({
        path: ["CHROMA_TIMEOUT"],
        // Effect 4's Config.Duration keeps the sign (Effect 3's read it as 0)
        message: "[chroma:6003] timeout must be a positive, finite duration, got \"-5 seconds\" (read as -5s)"
      })
      // a text shown as typed keeps its credentials hidden
      const FromUrl = ResilientServiceClient.layerConfig(Billing, { baseUrl: Config.String("CHROMA_URL") })
      const urlError = invalidData(yield* layerError(FromUrl, { CHROMA_URL: "http//svc:zqSecret1@chroma:6003" }))
      expect(urlError.path).toEqual(["CHROMA_URL"])
      expect(urlError.message).toContain("got \"http//…@chroma:6003\"")
      expect(urlError.message).not.toContain("zqSecret1")
    }))

  it.effect("errors of the breaker's settings keep the place they were given at", () =>
    Effect.gen(function*() {
      const fails = (options: Partial<ResilientServiceClient.Options>) =>
        Effect.flip(Effect.scoped(ResilientServiceClient.make({ baseUrl, id: "billing", ...options }))).pipe(
          Effect.provide(Testing.fakeUpstream().layer),
          Effect.map(invalidData)
        )
      expect(yield* fails({ breaker: { failureThreshold: 0 } })).toEqual({
        path: ["breaker", "failureThreshold"],
        message: "[billing] breaker.failureThreshold must be a positive integer, got 0"
      })
      expect(yield* fails({ breaker: { halfOpenMaxProbes: 1.5 } })).toEqual({
        path: ["breaker", "halfOpenMaxProbes"],
        message: "[billing] breaker.halfOpenMaxProbes must be a positive integer, got 1.5"
      })
      // given flat, the flat name
      expect((yield* fails({ failureThreshold: 0 })).path).toEqual(["failureThreshold"])
    }))
})
