import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Redis from "../../src/internal/redis.js"

export interface TestConnection extends Redis.Connection {
  /** Waits for the connection's next 'ready' event, then answers a PING (5 s guard). */
  readonly ready: Effect.Effect<Redis.Reply, unknown>
}

/**
 * A connection to a test server whose readiness can be awaited (it opens in the background).
 * `options` replaces the defaults (500 ms command timeout, 500 ms connect timeout).
 */
export const connect = (
  url: string,
  commandTimeoutMillis = 500,
  options: Partial<Redis.Options> = {}
): Effect.Effect<TestConnection, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const readiness = yield* Queue.unbounded<void>()
    const connection = yield* Redis.connect({
      url,
      commandTimeoutMillis,
      connectTimeoutMillis: 500,
      ...options,
      onReady: () => Queue.offerUnsafe(readiness, undefined)
    })
    const ready = Queue.take(readiness).pipe(
      Effect.andThen(connection.send(["PING"])),
      Effect.timeout("5 seconds")
    )
    return { ...connection, ready }
  })

/** A connection that is ready. */
export const connectReady = (
  url: string,
  commandTimeoutMillis = 500,
  options: Partial<Redis.Options> = {}
): Effect.Effect<TestConnection, unknown, Scope.Scope> =>
  Effect.tap(connect(url, commandTimeoutMillis, options), (connection) => connection.ready)

/**
 * Publishes `message` on `channel` through `publisher` every 20 ms until `received` (what a
 * subscription delivered) yields it: a message lost on a connection being replaced is sent
 * again. 5 s guard.
 */
export const publishUntilReceived = (
  publisher: Redis.Connection,
  received: Queue.Dequeue<string>,
  channel: string,
  message: string
): Effect.Effect<void, unknown> =>
  Effect.raceFirst(
    Queue.take(received).pipe(Effect.repeat({ until: (m) => m === message }), Effect.asVoid),
    Effect.forever(
      Effect.andThen(Effect.ignore(publisher.send(["PUBLISH", channel, message])), Effect.sleep("20 millis"))
    )
  ).pipe(
    Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail(`${message} never arrived`) })
  )
