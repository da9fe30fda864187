import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, Presets, ResilientServiceClient, ServiceRegistry, ServiceStatus } from "../src/index.js"
import * as Testing from "../src/Testing.js"
import { issuesOf } from "./utils/configErrors.js"
import { hang, makeFake, refused, status } from "./utils/fakeClient.js"
import { makeLogCapture } from "./utils/logs.js"

/** The `HttpClientError` of a failed call whose reason is `tag`, or a failed test. */
const reasonOf = <Tag extends HttpClientError.HttpClientErrorReason["_tag"]>(
  error: ResilientServiceClient.ClientError,
  tag: Tag
): Extract<HttpClientError.HttpClientErrorReason, { readonly _tag: Tag }> => {
  if (error._tag !== "HttpClientError" || error.reason._tag !== tag) {
    return expect.fail(`expected an HttpClientError with a ${tag} reason, got ${String(error)}`)
  }
  return error.reason as Extract<HttpClientError.HttpClientErrorReason, { readonly _tag: Tag }>
}

const baseUrl = "http://chroma:6003"

/** Builds a client on a fake transport, in the test's scope. */
const clientOn = (fake: ReturnType<typeof makeFake>, options: Partial<ResilientServiceClient.Options> = {}) =>
  ResilientServiceClient.make({ baseUrl, serviceName: "Chroma Server", ...options }).pipe(Effect.provide(fake.layer))

describe("ResilientServiceClient (fake transport, TestClock)", () => {
  it.effect("retries at +0 s, +1 s and +3 s with the defaults, then fails with the last error", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const client = yield* clientOn(fake)
      const fiber = yield* Effect.forkChild(client.get("/query"))
      yield* TestClock.adjust("999 millis")
      expect(fake.calls.map((c) => c.at)).toEqual([0])
      yield* TestClock.adjust("1 millis")
      expect(fake.calls.map((c) => c.at)).toEqual([0, 1000])
      yield* TestClock.adjust("1999 millis")
      expect(fake.calls.length).toBe(2)
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      expect(fake.calls.map((c) => c.at)).toEqual([0, 1000, 3000])
      const error = yield* Effect.flip(exit)
      expect(reasonOf(error, "StatusCodeError").response.status).toBe(503)
      expect((yield* client.status).failureCount).toBe(3)
    }))

  it.effect("an attempt that hangs times out after `timeout`, per attempt, and a call can override it", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { maxAttempts: 2, timeout: "10 seconds", backoff: "1 second" })
      const fiber = yield* Effect.forkChild(client.get("/slow"))
      yield* TestClock.adjust("10 seconds") // attempt 1 times out at +10 s
      expect(fake.calls.map((c) => c.at)).toEqual([0])
      yield* TestClock.adjust("1 second") // backoff, attempt 2 starts at +11 s
      expect(fake.calls.map((c) => c.at)).toEqual([0, 11_000])
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(Cause.isTimeoutError(error)).toBe(true)
      expect((error as Cause.TimeoutError).message).toBe("Timed out after 10s")

      const quick = yield* Effect.forkChild(client.get("/slow", { timeout: "2 seconds" }))
      yield* TestClock.adjust("2 seconds")
      expect(fake.calls.at(-1)!.at).toBe(21_000)
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("2 seconds")
      const quickError = yield* Effect.flip(Fiber.join(quick))
      expect(Cause.isTimeoutError(quickError)).toBe(true)
      expect(fake.calls.map((c) => c.at).slice(2)).toEqual([21_000, 24_000])
    }))

  it.effect("a breaker opened by this call's failure ends the call at once, without a backoff", () =>
    Effect.gen(function*() {
      const fake = makeFake(refused)
      const client = yield* clientOn(fake, { failureThreshold: 2, maxAttempts: 5 })
      const fiber = yield* Effect.forkChild(client.get("/"))
      yield* TestClock.adjust("1 second") // the wait after attempt 1
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(exit)
      expect(error._tag).toBe("ServiceUnavailable")
      expect(fake.calls.map((c) => c.at)).toEqual([0, 1000])
    }))

  it.effect("calls waiting out a backoff fail with ServiceUnavailable the moment other calls open the breaker", () =>
    Effect.gen(function*() {
      const fake = makeFake(refused)
      const client = yield* clientOn(fake, { failureThreshold: 5 })
      // ten callers against a refusing service: none of them should sleep to learn it is down
      const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.forkChild(client.get("/")))
      yield* TestClock.adjust(0)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      expect(exits.every(Exit.isFailure)).toBe(true)
      const errors = yield* Effect.forEach(exits, (exit) => Effect.flip(exit))
      expect(errors.filter((e) => e._tag === "ServiceUnavailable").length).toBe(10)
      // the ten first attempts were all in flight before the first failure came back; the five
      // counted failures opened the breaker and every call's retry was rejected at once
      expect(fake.calls.length).toBe(10)
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.effect("a call in backoff is woken by the breaker opening", () =>
    Effect.gen(function*() {
      const fake = makeFake(refused)
      const client = yield* clientOn(fake, { failureThreshold: 3 })
      const waiting = yield* Effect.forkChild(client.get("/a")) // fails attempt 1, waits 1 s
      yield* TestClock.adjust(0)
      expect(fake.calls.length).toBe(1)
      yield* TestClock.adjust("500 millis")
      const alsoWaiting = yield* Effect.forkChild(client.get("/b")) // counted failure 2, waits 1 s
      yield* TestClock.adjust(0)
      expect(yield* client.breaker.state).toBe("closed")
      const opener = yield* Effect.flip(client.get("/c")) // counted failure 3: opens the breaker
      expect(opener._tag).toBe("ServiceUnavailable")
      for (const fiber of [waiting, alsoWaiting]) {
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error._tag).toBe("ServiceUnavailable")
      }
      expect(yield* Clock.currentTimeMillis).toBe(500) // no backoff was waited out
      expect(fake.calls.length).toBe(3)
    }))

  it.effect("4xx answers are neither retried nor counted; retryOn and isFailure override the table", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(404, { error: "no such item" }))
      const client = yield* clientOn(fake)
      const error = yield* Effect.flip(client.get("/item/1"))
      expect(fake.calls.length).toBe(1)
      expect((yield* client.status).failureCount).toBe(0)
      expect(yield* reasonOf(error, "StatusCodeError").response.json).toEqual({ error: "no such item" })

      const strict = yield* clientOn(makeFake(status(404)), {
        retryOn: (e) => e._tag === "HttpClientError" && e.reason._tag === "StatusCodeError",
        isFailure: () => true,
        maxAttempts: 2,
        backoff: "1 millis"
      })
      const fiber = yield* Effect.forkChild(strict.get("/item/1"))
      yield* TestClock.adjust("1 millis")
      yield* Effect.flip(Fiber.join(fiber))
      expect((yield* strict.status).failureCount).toBe(2)
    }))

  it.effect("logs success, each retry with the delay the schedule chose, and the final failure", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      yield* logs.provide(Effect.gen(function*() {
        const fake = makeFake(status(200))
        const client = yield* clientOn(fake)
        yield* client.get("/query")
        fake.script(status(503))
        const fiber = yield* Effect.forkChild(client.post("/query", { json: { q: 1 } }))
        yield* TestClock.adjust("3 seconds")
        yield* Effect.exit(Fiber.join(fiber))
        fake.script(refused)
        const second = yield* Effect.forkChild(client.get("/other"))
        yield* TestClock.adjust("3 seconds")
        yield* Effect.exit(Fiber.join(second))
      }))
      const lines = logs.lines.filter((l) => l.message.startsWith("[Chroma Server]"))
      expect(lines.map((l) => [l.level, l.message])).toEqual([
        ["DEBUG", "[Chroma Server] ✓ GET /query succeeded"],
        ["WARN", "[Chroma Server] HTTP 503 on attempt 1/3, retrying in 1s..."],
        ["WARN", "[Chroma Server] HTTP 503 on attempt 2/3, retrying in 2s..."],
        ["ERROR", "[Chroma Server] All 3 attempts failed: HTTP 503"],
        ["WARN", "[Chroma Server] Connection failed on attempt 1/3, retrying in 1s..."],
        ["ERROR", "[Chroma Server] Circuit breaker OPEN (threshold reached)"]
      ])
      expect(lines.every((l) => l.annotations.service === "Chroma Server")).toBe(true)
    }))

  it.effect("credentials in baseUrl and query values in paths never reach logs, status or errors", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const fake = makeFake(status(500))
      const error = yield* logs.provide(Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({
          baseUrl: "http://alice:s3cr3t-pw@chroma:6003",
          maxAttempts: 2,
          failureThreshold: 1
        }).pipe(Effect.provide(fake.layer))
        expect(client.baseUrl).toBe("http://chroma:6003")
        expect(client.serviceName).toBe("chroma:6003")
        const fiber = yield* Effect.forkChild(client.get("/search?api_key=TOPSECRET&q=cats"))
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(Fiber.join(fiber))
        const statusJson = JSON.stringify(ServiceStatus.toJson(yield* client.status))
        const rejected = yield* Effect.flip(client.get("/search?api_key=TOPSECRET"))
        return { error, statusJson, rejected }
      }))
      // the request itself carried both, as intended
      expect(fake.calls[0]!.headers.authorization).toBe(`Basic ${btoa("alice:s3cr3t-pw")}`)
      expect(fake.calls[0]!.url).toBe("http://chroma:6003/search?api_key=TOPSECRET&q=cats")
      const everything = [
        ...logs.lines.map((l) => `${l.message} ${JSON.stringify(l.annotations)}`),
        error.error.message,
        String(error.error),
        error.statusJson,
        error.rejected.message
      ].join("\n")
      expect(everything).not.toContain("s3cr3t")
      expect(everything).not.toContain("alice")
      expect(everything).not.toContain("TOPSECRET")
    }))

  it.effect("an unencodable JSON body fails with an EncodeError, not retried, not counted", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(200))
      const client = yield* clientOn(fake)
      const circular: Record<string, unknown> = {}
      circular.self = circular
      const error = yield* Effect.flip(client.post("/x", { json: circular }))
      reasonOf(error, "EncodeError")
      expect(fake.calls.length).toBe(0)
      expect((yield* client.status).failureCount).toBe(0)
    }))

  it.effect("httpClient behaves like an HttpClient: platform combinators apply, retries included", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503), status(200, { id: 7, name: "doc" }))
      const client = yield* clientOn(fake, { backoff: "1 millis" })
      const Doc = Schema.Struct({ id: Schema.Number, name: Schema.String })
      const fiber = yield* client.httpClient.pipe(
        HttpClient.mapRequest(HttpClientRequest.setHeader("x-trace", "t1")),
        (http) => http.get("/docs/7"),
        Effect.flatMap(HttpIncomingMessage.schemaBodyJson(Doc)),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toEqual({ id: 7, name: "doc" })
      expect(fake.calls.map((c) => c.url)).toEqual(["http://chroma:6003/docs/7", "http://chroma:6003/docs/7"])
      expect(fake.calls.map((c) => c.headers["x-trace"])).toEqual(["t1", "t1"])
    }))

  describe("invalid options fail with a ConfigError naming the option", () => {
    const cases: ReadonlyArray<[string, Record<string, unknown>]> = [
      ["baseUrl", { baseUrl: "" }],
      ["baseUrl", { baseUrl: "/relative" }],
      ["baseUrl", { baseUrl: "ftp://files:21" }],
      ["baseUrl", { baseUrl: "http://x:1/?q=1" }],
      ["serviceName", { baseUrl, serviceName: "" }],
      ["id", { baseUrl, id: " " }],
      ["maxAttempts", { baseUrl, maxAttempts: 0 }],
      ["maxAttempts", { baseUrl, maxAttempts: 1.5 }],
      ["timeout", { baseUrl, timeout: 0 }],
      ["timeout", { baseUrl, timeout: "forever-ish" }],
      ["failureThreshold", { baseUrl, failureThreshold: -2 }],
      ["recoveryTimeout", { baseUrl, recoveryTimeout: -1 }],
      ["backoff", { baseUrl, backoff: "0 seconds" }],
      ["retryOn", { baseUrl, retryOn: "yes" }],
      ["jitter", { baseUrl, jitter: "lots" }]
    ]
    for (const [field, options] of cases) {
      it.effect(`${field}: ${JSON.stringify(options)}`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(
            ResilientServiceClient.make(options as unknown as ResilientServiceClient.Options).pipe(
              Effect.provide(makeFake(status(200)).layer)
            )
          )
          expect(error._tag).toBe("ConfigError")
          expect(issuesOf(error)?.map((issue) => issue.path)).toEqual([[field]])
        }))
    }
  })

  it.effect("layerConfig reads its options from configuration, with the Python example's default", () =>
    Effect.gen(function*() {
      class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("Chroma") {}
      const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
        baseUrl: Config.String("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
        serviceName: Config.succeed("Chroma Server"),
        maxAttempts: Config.Int("CHROMA_MAX_ATTEMPTS").pipe(Config.withDefault(3))
      })
      const fake = makeFake(status(200))
      const read = (env: Record<string, string>) =>
        Effect.map(Effect.service(Chroma), (c) => [c.baseUrl, c.serviceName] as const).pipe(
          Effect.provide(ChromaLive.pipe(Layer.provide([fake.layer, ServiceRegistry.layer]))),
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
        )
      expect(yield* read({})).toEqual(["http://chroma:6003", "Chroma Server"])
      expect(yield* read({ CHROMA_SERVER_URL: "http://10.1.2.3:7000" })).toEqual([
        "http://10.1.2.3:7000",
        "Chroma Server"
      ])
      const bad = yield* Effect.flip(read({ CHROMA_MAX_ATTEMPTS: "0" }))
      // named as Effect's own Config errors are: by the key the user set, and the client and option
      expect(issuesOf(bad)).toEqual([{
        path: ["CHROMA_MAX_ATTEMPTS"],
        message: "[Chroma Server] maxAttempts must be a positive integer, got 0"
      }])
    }))

  it.effect("presets are the Python guide's settings", () =>
    Effect.sync(() => {
      expect(Presets.slowOperations).toEqual({ maxAttempts: 3, timeout: "15 seconds" })
      expect(Presets.fastOperations).toEqual({ maxAttempts: 2, timeout: "5 seconds" })
      expect(Presets.complexOperations).toEqual({
        maxAttempts: 3,
        timeout: "30 seconds",
        recoveryTimeout: "90 seconds"
      })
      expect(Presets.development).toEqual({ maxAttempts: 3, timeout: "10 seconds" })
      expect(Presets.production).toEqual({
        maxAttempts: 3,
        timeout: "10 seconds",
        failureThreshold: 5,
        recoveryTimeout: "60 seconds"
      })
    }))

  it.effect("a preset spreads into make", () =>
    Effect.gen(function*() {
      const fake = makeFake(hang)
      const client = yield* clientOn(fake, { ...Presets.fastOperations, backoff: "1 second" })
      const fiber = yield* Effect.forkChild(client.get("/charge"))
      yield* TestClock.adjust("5 seconds")
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("5 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(Cause.isTimeoutError(error)).toBe(true)
      expect(fake.calls.map((c) => c.at)).toEqual([0, 6000])
      expect(Option.isSome((yield* client.status).lastFailure)).toBe(true)
    }))
})

describe("ResilientServiceClient: requests, error bodies and registration", () => {
  it.effect("an error body over 1 MiB without content-length is dropped whole, a smaller one kept whole", () =>
    Effect.gen(function*() {
      const big = "x".repeat(1024 * 1024 + 10)
      const small = "y".repeat(512 * 1024)
      const upstream = Testing.fakeUpstream({ "/big": Testing.text(404, big), "/small": Testing.text(404, small) })
      const client = yield* ResilientServiceClient.make({ baseUrl }).pipe(Effect.provide(upstream.layer))
      const bigError = yield* Effect.flip(client.get("/big"))
      const smallError = yield* Effect.flip(client.get("/small"))
      expect(yield* reasonOf(bigError, "StatusCodeError").response.text).toBe("")
      expect(yield* reasonOf(smallError, "StatusCodeError").response.text).toBe(small)
    }))

  it.effect("a full URL given to execute gets no base-URL credentials, and its query is not printed", () =>
    Effect.gen(function*() {
      const logs = makeLogCapture()
      const upstream = Testing.fakeUpstream({ "*": Testing.json(500) })
      const error = yield* logs.provide(Effect.gen(function*() {
        const client = yield* ResilientServiceClient.make({ baseUrl: "http://alice:pw@chroma:6003", maxAttempts: 1 })
          .pipe(Effect.provide(upstream.layer))
        yield* Effect.exit(client.get("/own"))
        return yield* Effect.flip(client.execute(HttpClientRequest.get("http://elsewhere:9/x?token=SECRET42")))
      }))
      const [own, other] = upstream.requests()
      expect(own!.headers.authorization).toBeDefined()
      expect(other!.headers.authorization).toBeUndefined()
      expect(other!.url).toBe("http://elsewhere:9/x?token=SECRET42")
      const printed = [error.message, ...logs.messages()].join("\n")
      expect(printed).not.toContain("SECRET42")
    }))

  it.effect("the breaker's options go through the client, validated by the breaker", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const bad = yield* Effect.flip(clientOn(fake, { probeTimeout: 0 }))
      expect(issuesOf(bad)?.map((issue) => issue.path)).toEqual([["probeTimeout"]])
      const badStrategy = yield* Effect.flip(
        clientOn(fake, {
          strategy: CircuitBreaker.failureRate({ threshold: 2, minimumCalls: 1, window: { kind: "count", size: 4 } })
        })
      )
      expect(issuesOf(badStrategy)?.map((issue) => issue.path)).toEqual([["strategy", "threshold"]])
      // open durations that grow with a schedule: 10 s, then 20 s
      const client = yield* clientOn(fake, {
        maxAttempts: 1,
        failureThreshold: 1,
        recoveryTimeout: Schedule.exponential("10 seconds")
      })
      yield* Effect.exit(client.get("/"))
      yield* TestClock.adjust("10 seconds")
      yield* Effect.exit(client.get("/")) // the probe fails: open for the next delay
      yield* TestClock.adjust("19 seconds")
      expect(yield* client.breaker.state).toBe("open")
      yield* TestClock.adjust("1 second")
      expect(yield* client.breaker.state).toBe("half_open")
    }))

  it.effect("a registered client lists its transitions and its next probe", () =>
    Effect.gen(function*() {
      const fake = makeFake(status(503))
      const registry = yield* ServiceRegistry.ServiceRegistry
      const client = yield* clientOn(fake, { id: "chroma", maxAttempts: 1, failureThreshold: 1 })
      yield* ResilientServiceClient.register(client)
      yield* Effect.exit(client.get("/"))
      yield* TestClock.adjust("15 seconds")
      const details = Option.getOrThrow(yield* registry.details("chroma"))
      expect(details.recentTransitions.map((t) => `${t.from}→${t.to}`)).toEqual(["closed→open"])
      expect(Option.map(details.nextProbeIn, Duration.toMillis)).toEqual(Option.some(45_000))
    }).pipe(Effect.provide(ServiceRegistry.layer)))
})
