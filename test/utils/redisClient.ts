import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Redis from "../../src/internal/redis.js"

export interface TestConnection extends Redis.Connection {
  /** Waits for the connection's next 'ready' event, then answers a PING (5 s guard). */
  readonly ready: Effect.Effect<Redis.Reply, unknown>
}

/** A connection to a test server whose readiness can be awaited (it opens in the background). */
export const connect = (
  url: string,
  commandTimeoutMillis = 500
): Effect.Effect<TestConnection, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const readiness = yield* Queue.unbounded<void>()
    const connection = yield* Redis.connect({
      url,
      commandTimeoutMillis,
      connectTimeoutMillis: 500,
      onReady: () => Queue.unsafeOffer(readiness, undefined)
    })
    const ready = Queue.take(readiness).pipe(
      Effect.zipRight(connection.send(["PING"])),
      Effect.timeout("5 seconds")
    )
    return { ...connection, ready }
  })

/** A connection that is ready. */
export const connectReady = (url: string, commandTimeoutMillis = 500) =>
  Effect.tap(connect(url, commandTimeoutMillis), (connection) => connection.ready)
