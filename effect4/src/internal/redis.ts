/**
 * The little the fleet needs from Redis (in the Effect 4 edition), behind an interface of our
 * own: send a command, run a Lua script (EVALSHA, falling back to EVAL when the server does not
 * know the script), and subscribe to a channel. The adapter below uses `@redis/client` 5 or 6 (an optional peer
 * dependency, loaded only when a connection is made), on one server or on a Redis Cluster;
 * another client fits the same interface.
 *
 * Every command is bounded twice: by the client's own command timeout (which also takes a
 * command that was never written off its queue) and by an `Effect.timeout`, so a hung server
 * costs a caller at most the timeout, never a wait without end.
 *
 * Liveness: a connection can stall without closing (a middlebox or a NAT entry that forgot it),
 * and TCP takes minutes to notice. So both connections send a `PING` every half heartbeat and
 * drop their socket after a heartbeat and a command timeout (1 s at the least) without a byte
 * received (then reconnect), and a command that times out recycles its connection: `@redis/client` stops
 * timing a command once it is written, and a written command is never cancelled, so the
 * connection it went on is dropped and a new one opened ({@link Connection.recycle}).
 *
 * @internal
 */
import type * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Core from "../../../core/src/redisConnection.js"
import * as validate from "./validate.js"

/** @internal */
export type Reply = Core.Reply

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
  /**
   * Sends one command (on a cluster, to the node of its first key). A command that times out
   * recycles the connection it went on (see `recycle`).
   */
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
   * Drops the command connection and opens a new one at once: for a connection that timed out
   * a command (a written command cannot be taken back, and its answer would come late or
   * never). Commands still waiting on the old connection fail with `Unavailable`; the new one
   * is announced by `onReady`. `send` already does it after each of its own timeouts, so a
   * caller needs it only when something else shows the connection stuck (a reply that comes
   * too late to use, say). Does nothing while the current connection has not been ready yet (a
   * connection being opened is left to open: its socket's idle bound covers it).
   */
  readonly recycle: Effect.Effect<void>
}

/**
 * A Redis Cluster: `url` is one of its nodes, `rootNodes` more of them (`redis://` or
 * `rediss://` URLs) tried when that one does not answer at start; the client discovers the
 * others and follows `MOVED` redirections.
 *
 * @internal
 */
export type ClusterOptions = Core.ClusterOptions

/** @internal */
export interface Options {
  readonly url: string
  /** Bound on one command, in milliseconds. */
  readonly commandTimeoutMillis: number
  /** Bound on opening a socket, in milliseconds. */
  readonly connectTimeoutMillis: number
  /**
   * The fleet's heartbeat, in milliseconds (default 1000): both connections send a `PING` every
   * half of it and drop a socket that received nothing for a heartbeat and a command timeout
   * (1 s at the least).
   */
  readonly heartbeatMillis?: number | undefined
  /** A Redis Cluster when present; one server when absent. */
  readonly cluster?: ClusterOptions | undefined
  /** Called on every client error (connection lost, refused, …); the caller decides what to log. */
  readonly onError?: ((error: unknown) => void) | undefined
  /** Called each time the command connection is (re)established and ready for commands. */
  readonly onReady?: (() => void) | undefined
}

// The parts of @redis/client's clients that the adapter uses, so that no type of the optional
// package leaks into ours. Both are the same in versions 5 and 6.
interface Emitter {
  on(event: string, listener: (...args: ReadonlyArray<unknown>) => void): unknown
}

interface NodeRedisClient extends Emitter {
  connect(): Promise<unknown>
  destroy(): void
  sendCommand(args: ReadonlyArray<string>, options?: { readonly timeout?: number }): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
}

interface NodeRedisCluster extends Emitter {
  connect(): Promise<unknown>
  destroy(): void
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: ReadonlyArray<string>,
    options?: { readonly timeout?: number }
  ): Promise<unknown>
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>
}

interface NodeRedisModule {
  createClient(options: unknown): NodeRedisClient
  createCluster(options: unknown): NodeRedisCluster
}

const toRedisError = (error: unknown): RedisError => new RedisError(Core.classifyError(error))

const isNoScript = (error: RedisError): boolean => Core.isNoScript(error)

const loadModule: Effect.Effect<NodeRedisModule, Config.ConfigError> = Effect.tryPromise({
  try: () => import("@redis/client") as unknown as Promise<NodeRedisModule>,
  catch: () =>
    validate.invalidAt(
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

/**
 * The `cluster` option of a fleet, checked (the core's rules): `undefined` or `false` for one
 * server, `true` for a cluster found through `url`, `{ rootNodes }` to add nodes to try at start.
 * A cluster has only database 0, so a `url` that names another fails too.
 *
 * @internal
 */
export const clusterOption = (
  url: string,
  value: unknown
): Effect.Effect<ClusterOptions | undefined, Config.ConfigError> => {
  const checked = Core.checkCluster(url, value)
  return checked._tag === "Valid" ? Effect.succeed(checked.value) : Effect.fail(validate.issueError(checked.issue))
}

// One client, one server or a cluster, seen the same way.
interface Backend {
  readonly connect: () => Promise<unknown>
  readonly destroy: () => void
  readonly send: (args: ReadonlyArray<string>, timeout: number) => Promise<unknown>
  readonly subscribe: (channel: string, listener: (message: string) => void) => Promise<unknown>
}

const backend = (
  module: NodeRedisModule,
  options: Options,
  role: "commands" | "subscriber",
  onReady: () => void
): Backend => {
  const onError = options.onError ?? (() => undefined)
  const base = Core.connectionOptions(options, role)
  const destroyOnce = (client: { destroy(): void }) => () => {
    try {
      client.destroy()
    } catch {
      // already closed
    }
  }
  if (options.cluster === undefined) {
    const client = module.createClient({ ...base, url: options.url })
    // without a listener, an 'error' event would end the process
    client.on("error", onError)
    client.on("ready", onReady)
    return {
      connect: () => client.connect(),
      destroy: destroyOnce(client),
      send: (args, timeout) => client.sendCommand(args, { timeout }),
      subscribe: (channel, listener) => client.subscribe(channel, listener)
    }
  }
  const { tls, ...credentials } = Core.credentialsOf(options.url)
  const cluster = module.createCluster({
    rootNodes: [options.url, ...options.cluster.rootNodes].map((url) => ({ url })),
    defaults: { ...base, ...credentials, socket: { ...base.socket, ...(tls ? { tls: true } : {}) } },
    // connect to a node when a command needs it, not to every node at start: a node that hangs
    // then holds only the commands of its own slots, not the discovery of a new client
    minimizeConnections: true,
    RESP: 2
  })
  let connected = false
  cluster.on("error", onError)
  cluster.on("node-error", onError)
  // 'connect': the slots are known (emitted before connect() resolves); 'node-ready': a node's
  // connection is established (before 'connect' for the first ones, which are not announced)
  cluster.on("connect", () => {
    connected = true
    onReady()
  })
  cluster.on("node-ready", () => connected && onReady())
  return {
    connect: () => cluster.connect(),
    destroy: destroyOnce(cluster),
    send: (args, timeout) =>
      connected
        ? cluster.sendCommand(Core.firstKey(args), false, args, { timeout })
        : Promise.reject(new Error("the cluster's slots are not known yet")),
    subscribe: (channel, listener) => cluster.subscribe(channel, listener)
  }
}

// Retry after a cluster found none of its root nodes (a client of one server retries alone).
const restartDelay = Duration.seconds(1)

interface Holder {
  readonly current: () => Backend
  /** Replaces `stale` by a new backend, if it is still the current one. */
  readonly replace: (stale: Backend) => Effect.Effect<void>
  /** Replaces the current backend if it has been ready (else it is left to open). */
  readonly recycle: Effect.Effect<void>
  /** Subscribes the current backend and every later one, for the life of the scope. */
  readonly subscribe: (
    channel: string,
    listener: (message: string) => void
  ) => Effect.Effect<void, never, Scope.Scope>
}

// A backend for the life of the scope (`first`, then others from `make`), replaced when recycled
// or when its connection failed for good, and which subscribes every backend it makes to the
// channels asked for so far.
const hold = (first: Backend, make: () => Backend, onError: (error: unknown) => void) =>
  Effect.gen(function*() {
    const failed = yield* Queue.unbounded<Backend>()
    const subscriptions = new Set<readonly [string, (message: string) => void]>()
    const connected = new WeakSet<Backend>()
    const start = (next: Backend): Backend => {
      next.connect().then(
        () => {
          connected.add(next)
          for (const [channel, listener] of subscriptions) next.subscribe(channel, listener).catch(onError)
        },
        (error: unknown) => {
          onError(error)
          Queue.offerUnsafe(failed, next)
        }
      )
      return next
    }
    let current = start(first)
    const replace = (stale: Backend) =>
      Effect.sync(() => {
        if (current !== stale) return
        current = start(make())
        stale.destroy()
      })
    yield* Effect.addFinalizer(() => Effect.sync(() => current.destroy()))
    yield* Effect.forkScoped(
      Effect.forever(Effect.flatMap(Queue.take(failed), (stale) => Effect.delay(replace(stale), restartDelay)))
    )
    const holder: Holder = {
      current: () => current,
      replace,
      recycle: Effect.suspend(() => connected.has(current) ? replace(current) : Effect.void),
      subscribe: (channel, listener) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            // stays registered with node-redis until the backend goes, but silent after the scope
            const entry = [channel, (message: string) => subscriptions.has(entry) && listener(message)] as const
            subscriptions.add(entry)
            if (connected.has(current)) current.subscribe(channel, entry[1]).catch(onError)
            return entry
          }),
          (entry) => Effect.sync(() => subscriptions.delete(entry))
        )
    }
    return holder
  })

/**
 * A connection through `@redis/client` for the life of the scope. The socket is opened in the
 * background: the effect succeeds at once even when the server is down, and commands fail with
 * `RedisError` until it is up. With `cluster`, a cluster client that routes each command by its
 * first key; subscriptions then ride on its own connection to one node (node-redis moves it when
 * the topology changes).
 *
 * @internal
 */
export const connect = (options: Options): Effect.Effect<Connection, Config.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const module = yield* loadModule
    const onError = options.onError ?? (() => undefined)
    const onReady = options.onReady ?? (() => undefined)
    const makeCommands = () => backend(module, options, "commands", onReady)
    // a URL that node-redis cannot read fails here, once
    const first = yield* Effect.try({
      try: makeCommands,
      catch: (error) => validate.invalidAt(["url"], `is not a Redis URL: ${Core.errorMessage(error)}`)
    })
    const commands = yield* hold(first, makeCommands, onError)

    const timeoutMillis = Math.max(1, Math.round(options.commandTimeoutMillis))
    const send = (args: ReadonlyArray<string>): Effect.Effect<Reply, RedisError> =>
      Effect.suspend(() => {
        const used = commands.current()
        return Effect.tryPromise({ try: () => used.send(args, timeoutMillis), catch: toRedisError }).pipe(
          Effect.map(Core.toReply),
          Effect.timeoutOrElse({
            duration: Duration.millis(timeoutMillis),
            orElse: () =>
              Effect.fail(new RedisError({ reason: "Timeout", message: `no answer within ${timeoutMillis} ms` }))
          }),
          Effect.tapError((error) => error.reason === "Timeout" ? commands.replace(used) : Effect.void)
        )
      })

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
      options.cluster !== undefined
        // the cluster client keeps its subscriptions on a connection apart from the commands'
        ? commands.subscribe(channel, onMessage)
        : Effect.flatMap(
          Effect.suspend(() => {
            const makeSubscriber = () => backend(module, options, "subscriber", () => undefined)
            return hold(makeSubscriber(), makeSubscriber, onError)
          }),
          // renewed by node-redis after a reconnection
          (subscriber) => subscriber.subscribe(channel, onMessage)
        )

    return {
      send,
      script: runScript,
      subscribe,
      recycle: commands.recycle
    }
  })
