/**
 * The little the fleet needs from Redis, behind an interface of our own: send a command, run a
 * Lua script (EVALSHA, falling back to EVAL when the server does not know the script), and
 * subscribe to a channel. The adapter below uses `@redis/client` (an optional peer dependency,
 * loaded only when a connection is made); another client fits the same interface.
 *
 * Every command is bounded twice: by the client's own command timeout (which also takes a
 * command that was never written off its queue) and by an `Effect.timeout`, so a hung server
 * costs a caller at most the timeout, never a wait without end.
 *
 * @internal
 */
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** @internal */
export type Reply = string | number | null | ReadonlyArray<Reply>

/**
 * A command that did not get an answer: the server is unreachable, did not answer in time, or
 * answered with an error.
 *
 * @internal
 */
export class RedisError extends Data.TaggedError("RedisError")<{
  readonly reason: "Unavailable" | "Timeout" | "Reply"
  readonly message: string
}> {}

/** A Lua script with its SHA-1, computed once. @internal */
export interface Script {
  readonly name: string
  readonly source: string
  readonly sha1: string
}

/** @internal */
export interface Connection {
  readonly send: (args: ReadonlyArray<string>) => Effect.Effect<Reply, RedisError>
  readonly script: (
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string>
  ) => Effect.Effect<Reply, RedisError>
  /**
   * Delivers every message published on `channel` to `onMessage` for the life of the scope, over
   * a connection of its own that resubscribes after a reconnection. Never fails: a server that is
   * down at the time is subscribed to once it is back.
   */
  readonly subscribe: (channel: string, onMessage: (message: string) => void) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Closes the command connection and opens a fresh one (in the background), e.g. after a command
   * timed out: a command written to a stalled socket cannot be taken back, and the next ones must
   * not queue behind it. Optional: a connection without it is kept.
   */
  readonly recycle?: Effect.Effect<void> | undefined
}

/** @internal */
export interface Options {
  readonly url: string
  /** Bound on one command, in milliseconds. */
  readonly commandTimeoutMillis: number
  /** Bound on opening a socket, in milliseconds. */
  readonly connectTimeoutMillis: number
  /** Called on every client error (connection lost, refused, …); the caller decides what to log. */
  readonly onError?: ((error: unknown) => void) | undefined
  /** Called each time the command connection is (re)established and ready for commands. */
  readonly onReady?: (() => void) | undefined
}

// The part of @redis/client's client that the adapter uses, so that no type of the optional
// package leaks into ours.
interface NodeRedisClient {
  connect(): Promise<unknown>
  destroy(): void
  duplicate(overrides?: unknown): NodeRedisClient
  on(event: "error", listener: (error: unknown) => void): unknown
  on(event: "ready", listener: () => void): unknown
  sendCommand(args: ReadonlyArray<string>, options?: { readonly timeout?: number }): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
}

interface NodeRedisModule {
  createClient(options: unknown): NodeRedisClient
}

// a client destroyed already (recycled, then its scope closed) throws when destroyed again
const destroy = (client: NodeRedisClient): void => {
  try {
    client.destroy()
  } catch {
    // closed already
  }
}

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

const toReply = (value: unknown): Reply => {
  if (typeof value === "string" || typeof value === "number" || value === null) return value
  if (Array.isArray(value)) return value.map(toReply)
  if (typeof value === "bigint") return Number(value)
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  return String(value)
}

const toRedisError = (error: unknown): RedisError => {
  const message = errorMessage(error)
  const name = error instanceof Error ? error.name : ""
  if (name === "ErrorReply" || /^[A-Z]+ /.test(message) && !/^(Socket|Connection|The client)/.test(message)) {
    return new RedisError({ reason: "Reply", message })
  }
  if (name === "TimeoutError" || /timeout/i.test(message)) return new RedisError({ reason: "Timeout", message })
  return new RedisError({ reason: "Unavailable", message })
}

const isNoScript = (error: RedisError): boolean => error.reason === "Reply" && error.message.startsWith("NOSCRIPT")

const loadModule: Effect.Effect<NodeRedisModule, ConfigError.ConfigError> = Effect.tryPromise({
  try: () => import("@redis/client") as unknown as Promise<NodeRedisModule>,
  catch: () =>
    ConfigError.InvalidData(
      ["url"],
      "fleet mode needs the optional peer dependency @redis/client (npm install @redis/client)"
    )
})

/**
 * A script ready to run: its SHA-1 is computed here (node:crypto is loaded lazily, with the
 * client, so that nothing of Node's is imported where fleet mode is unused).
 *
 * @internal
 */
export const script = (name: string, source: string): Effect.Effect<Script> =>
  Effect.promise(() => import("node:crypto")).pipe(
    Effect.map((crypto) => ({ name, source, sha1: crypto.createHash("sha1").update(source).digest("hex") }))
  )

const clientOptions = (options: Options) => ({
  url: options.url,
  // a command sent while the connection is down fails at once instead of waiting in a queue
  disableOfflineQueue: true,
  socket: {
    connectTimeout: options.connectTimeoutMillis,
    // reconnect with a backoff: 50 ms, 100 ms, … up to 2 s between attempts, forever
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2_000)
  }
})

/**
 * A connection through `@redis/client` for the life of the scope. The socket is opened in the
 * background: the effect succeeds at once even when the server is down, and commands fail with
 * `RedisError` until it is up.
 *
 * @internal
 */
export const connect = (options: Options): Effect.Effect<Connection, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const module = yield* loadModule
    const onError = options.onError ?? (() => undefined)
    const open = (client: NodeRedisClient) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          // without a listener, an 'error' event would end the process
          client.on("error", onError)
          client.connect().catch(onError)
          return client
        }),
        (client) => Effect.sync(() => destroy(client))
      )
    let client = yield* Effect.try({
      try: () => module.createClient(clientOptions(options)),
      catch: (error) => ConfigError.InvalidData(["url"], `is not a Redis URL: ${errorMessage(error)}`)
    })
    if (options.onReady !== undefined) client.on("ready", options.onReady)
    yield* open(client)

    const timeout = Duration.millis(options.commandTimeoutMillis)
    const send = (args: ReadonlyArray<string>): Effect.Effect<Reply, RedisError> =>
      Effect.tryPromise({
        try: () => client.sendCommand(args, { timeout: options.commandTimeoutMillis }),
        catch: toRedisError
      }).pipe(
        Effect.map(toReply),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new RedisError({ reason: "Timeout", message: `no answer within ${options.commandTimeoutMillis} ms` })
        })
      )

    const runScript = (
      script: Script,
      keys: ReadonlyArray<string>,
      args: ReadonlyArray<string>
    ): Effect.Effect<Reply, RedisError> => {
      const tail = [String(keys.length), ...keys, ...args]
      return send(["EVALSHA", script.sha1, ...tail]).pipe(
        Effect.catchIf(isNoScript, () => send(["EVAL", script.source, ...tail]))
      )
    }

    const subscribe = (channel: string, onMessage: (message: string) => void) =>
      Effect.gen(function*() {
        const subscriber = client.duplicate({ disableOfflineQueue: false })
        yield* open(subscriber)
        // queued until the connection is ready (this connection keeps its offline queue), and
        // renewed by the client after every reconnection
        subscriber.subscribe(channel, onMessage).catch(onError)
      })

    const recycle = yield* recycler(module, options, onError, client, (fresh) => (client = fresh))

    return { send, script: runScript, subscribe, recycle }
  })

/**
 * Recycling the command connection: the current client is destroyed and a fresh one takes its
 * place (`replace`), connecting in the background. Until the fresh one is ready, a second call
 * does nothing, so that a burst of timeouts makes one new connection. The scope's end destroys
 * whichever client is current then.
 */
const recycler = (
  module: NodeRedisModule,
  options: Options,
  onError: (error: unknown) => void,
  first: NodeRedisClient,
  replace: (fresh: NodeRedisClient) => void
): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function*() {
    let current = first
    let connecting = false
    yield* Effect.addFinalizer(() => Effect.sync(() => destroy(current)))
    return Effect.sync(() => {
      if (connecting) return
      const fresh = module.createClient(clientOptions(options))
      fresh.on("error", onError)
      fresh.on("ready", () => {
        connecting = false
        options.onReady?.()
      })
      connecting = true
      const stalled = current
      current = fresh
      replace(fresh)
      fresh.connect().catch(onError)
      destroy(stalled)
    })
  })
