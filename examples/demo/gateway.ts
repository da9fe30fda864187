/**
 * The demo's gateway: an Effect HTTP server that calls the upstream through three resilient
 * clients, the way the Python guide's backend did — search fails open to a fallback, billing
 * fails closed with a 503, a git snapshot is best effort — and serves the status endpoint.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Duration } from "effect"
import { Context, Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { ResilientServiceClient, StatusApi } from "../../src/index.js"

export class Search extends Context.Tag("demo/Search")<Search, ResilientServiceClient.ResilientServiceClient>() {}
export class Billing extends Context.Tag("demo/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}
export class Git extends Context.Tag("demo/Git")<Git, ResilientServiceClient.ResilientServiceClient>() {}

export interface Timings {
  readonly timeout: Duration.DurationInput
  readonly backoff: Duration.DurationInput
  readonly recoveryTimeout: Duration.DurationInput
}

/** The three clients, all against the one embedded upstream. */
export const clients = (upstreamUrl: string, timings: Timings) =>
  Layer.mergeAll(
    ResilientServiceClient.layer(Search, {
      baseUrl: upstreamUrl,
      serviceName: "Chroma Server",
      id: "chroma",
      ...timings
    }),
    ResilientServiceClient.layer(Billing, {
      baseUrl: upstreamUrl,
      serviceName: "Billing",
      id: "billing",
      ...timings,
      maxAttempts: 2,
      // the safe setting for payments: the default retries a POST (as the Python client did), and a
      // charge whose attempt timed out may have reached billing; a POST is now retried only when it
      // carries an Idempotency-Key (as /charge below does) or was never sent
      retry: { retryUnsafeMethods: false }
    }),
    ResilientServiceClient.layer(Git, { baseUrl: upstreamUrl, serviceName: "Git", id: "git", ...timings })
  )

const fallbackResults = [{ id: -1, text: "cached: effect" }]

export const router = HttpRouter.empty.pipe(
  // Fail open: any failure of the search service answers from a local fallback.
  HttpRouter.get(
    "/search",
    Effect.gen(function*() {
      const chroma = yield* Search
      const request = yield* HttpServerRequest.HttpServerRequest
      const q = new URL(request.url, "http://gateway").searchParams.get("q") ?? ""
      const answer = yield* chroma.post("/query", { json: { q } }).pipe(
        Effect.flatMap((response) => response.json),
        Effect.map((body) => ({ source: "chroma", body })),
        Effect.catchAll((error) =>
          Effect.succeed({ source: "fallback", body: { results: fallbackResults }, reason: error._tag })
        )
      )
      return yield* HttpServerResponse.json(answer)
    })
  ),
  // Fail closed: billing cannot be faked, so the caller gets a 503.
  HttpRouter.post(
    "/charge",
    Effect.gen(function*() {
      const billing = yield* Billing
      const request = yield* HttpServerRequest.HttpServerRequest
      // one key per charge, kept across its retries, so billing can tell a retry from a new charge
      const idempotencyKey = request.headers["idempotency-key"] ?? `charge-${randomUUID()}`
      return yield* billing.post("/charge", { json: { amount: 42 }, headers: { "Idempotency-Key": idempotencyKey } })
        .pipe(
          Effect.flatMap((response) => response.json),
          Effect.flatMap((receipt) => HttpServerResponse.json(receipt)),
          Effect.catchAll((error) =>
            HttpServerResponse.json({ error: "Cannot process", reason: error._tag }, { status: 503 })
          )
        )
    })
  ),
  // Best effort: a failed snapshot is logged and the request carries on.
  HttpRouter.post(
    "/snapshot",
    Effect.gen(function*() {
      const git = yield* Git
      const saved = yield* git.post("/snapshot", { json: { ref: "main" } }).pipe(
        Effect.as(true),
        Effect.catchAll((error) => Effect.as(Effect.logWarning(`Snapshot failed: ${error.message}`), false))
      )
      return yield* HttpServerResponse.json({ accepted: true, snapshot: saved }, { status: 202 })
    })
  ),
  HttpRouter.concat(StatusApi.routerWithPage)
)
