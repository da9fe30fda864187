/**
 * The pure part of the fleet's Redis connection, shared by both editions: how a reply of
 * `@redis/client` is read, how its errors are classified, the client's options (liveness,
 * reconnection, protocol), how a cluster routes a command, and the check of the `cluster`
 * option. Each edition's `internal/redis.ts` loads `@redis/client`, holds the connections and
 * runs the commands as effects on top of this.
 *
 * @internal
 */
import type { Checked } from "./types.js"
import { invalid, valid } from "./types.js"

/** A Redis reply as the fleet reads it. @internal */
export type Reply = string | number | null | ReadonlyArray<Reply>

/** Why a command got no answer. @internal */
export type FailureReason = "Unavailable" | "Timeout" | "Reply"

/**
 * A Redis Cluster: `url` is one of its nodes, `rootNodes` more of them (`redis://` or
 * `rediss://` URLs) tried when that one does not answer at start.
 *
 * @internal
 */
export interface ClusterOptions {
  readonly rootNodes: ReadonlyArray<string>
}

/** What the client's options are computed from: the connection's bounds in milliseconds. @internal */
export interface Bounds {
  readonly commandTimeoutMillis: number
  readonly connectTimeoutMillis: number
  /** The fleet's heartbeat (default 1000). */
  readonly heartbeatMillis?: number | undefined
}

/** @internal */
export const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

/** A reply of `@redis/client` (version 5 or 6, RESP2) as a {@link Reply}. @internal */
export const toReply = (value: unknown): Reply => {
  if (typeof value === "string" || typeof value === "number" || value === null) return value
  if (Array.isArray(value)) return value.map(toReply)
  if (typeof value === "bigint") return Number(value)
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  return String(value)
}

// node-redis's errors that end a connection (a socket timeout among them): the connection is
// already being replaced, so they are `Unavailable`, not a command's `Timeout`
const connectionLost = /^(Socket|Connection|The client|Disconnects|All the root nodes)/

/**
 * Why a command of `@redis/client` failed: the connection is gone (`Unavailable`), the server
 * answered with an error (`Reply`), or the client timed the command out (`Timeout`).
 *
 * @internal
 */
export const classifyError = (error: unknown): { readonly reason: FailureReason; readonly message: string } => {
  const message = errorMessage(error)
  const name = error instanceof Error ? error.name : ""
  if (connectionLost.test(message)) return { reason: "Unavailable", message }
  if (name === "ErrorReply" || /^[A-Z]+ /.test(message)) return { reason: "Reply", message }
  // a command that node-redis timed out ("Timeout" in version 5, "Command timed out …" in 6)
  const type = error instanceof Error ? error.constructor.name : ""
  if (/Timeout/.test(type) || /time(d )?out/i.test(message)) return { reason: "Timeout", message }
  return { reason: "Unavailable", message }
}

/** The server does not know the script (EVALSHA): run it with EVAL. @internal */
export const isNoScript = (failure: { readonly reason: FailureReason; readonly message: string }): boolean =>
  failure.reason === "Reply" && failure.message.startsWith("NOSCRIPT")

const isRedisUrl = (value: unknown): value is string => typeof value === "string" && /^rediss?:\/\/./.test(value)

/**
 * The `cluster` option of a fleet, checked: `undefined` or `false` for one server, `true` for a
 * cluster found through `url`, `{ rootNodes }` to add nodes to try at start. A cluster has only
 * database 0, so a `url` that names another is an issue too (at `url`).
 *
 * @internal
 */
export const checkCluster = (url: string, value: unknown): Checked<ClusterOptions | undefined> => {
  let options: ClusterOptions
  if (value === undefined || value === false) return valid(undefined)
  if (value === true) options = { rootNodes: [] }
  else if (typeof value === "object" && value !== null) {
    const rootNodes: unknown = (value as { readonly rootNodes?: unknown }).rootNodes ?? []
    if (!Array.isArray(rootNodes)) {
      return invalid(["cluster"], "rootNodes must be an array of redis:// or rediss:// URLs")
    }
    const bad = rootNodes.findIndex((node) => !isRedisUrl(node))
    if (bad >= 0) {
      return invalid(["cluster"], `rootNodes[${bad}] must be a redis:// or rediss:// URL, got ${typeof rootNodes[bad]}`)
    }
    options = { rootNodes: rootNodes as ReadonlyArray<string> }
  } else {
    return invalid(["cluster"], `must be true, false or { rootNodes: [...] }, got ${typeof value}`)
  }
  for (const node of [url, ...options.rootNodes]) {
    if (!URL.canParse(node)) {
      return invalid([node === url ? "url" : "cluster"], `is not a Redis URL: ${JSON.stringify(node)}`)
    }
  }
  const database = /^rediss?:\/\/[^/]*\/(\d*)/.exec(url)?.[1]
  if (database !== undefined && database !== "" && database !== "0") {
    return invalid(["url"], `a Redis Cluster has only database 0, the url names database ${database}`)
  }
  return valid(options)
}

/**
 * A socket is dropped after this long without a byte at the least: a process whose event loop
 * was held up (a GC pause, a busy CPU) sees the socket's timer fire before the bytes waiting for
 * it, and a tiny heartbeat must not turn such pauses into reconnections.
 *
 * @internal
 */
export const minimumSocketTimeoutMillis = 1_000

/**
 * The `@redis/client` options of one connection, with liveness, for a standalone client or for
 * every node of a cluster. The subscriber keeps an offline queue (its SUBSCRIBE waits for the
 * connection); the command connection has none (a command sent while it is down fails at once).
 *
 * @internal
 */
export const connectionOptions = (bounds: Bounds, role: "commands" | "subscriber") => {
  const heartbeat = Math.max(2, Math.round(bounds.heartbeatMillis ?? 1_000))
  return {
    // the same protocol under versions 5 (whose default is RESP2) and 6 (RESP3)
    RESP: 2 as const,
    disableOfflineQueue: role === "commands",
    pingInterval: Math.round(heartbeat / 2),
    socket: {
      connectTimeout: Math.max(1, Math.round(bounds.connectTimeoutMillis)),
      // nothing received for a heartbeat and a command timeout (1 s at the least) while a PING
      // is due every half heartbeat: the socket is dropped and reconnected
      socketTimeout: Math.max(
        minimumSocketTimeoutMillis,
        heartbeat + Math.max(1, Math.round(bounds.commandTimeoutMillis))
      ),
      // reconnect with a backoff: 50 ms, 100 ms, … up to 2 s between attempts, forever (a
      // socket timeout included, which node-redis would not retry by default)
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2_000)
    }
  }
}

/**
 * What a cluster's discovered nodes need from the URL: the credentials and TLS (rootNodes are
 * only used to find the others).
 *
 * @internal
 */
export const credentialsOf = (url: string) => {
  const parsed = new URL(url)
  return {
    ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
    tls: parsed.protocol === "rediss:"
  }
}

// commands that any node of a cluster answers
const keyless = new Set(["PING", "SCRIPT", "CLUSTER", "CLIENT", "INFO", "DEBUG", "FLUSHALL", "TIME", "DBSIZE"])

/**
 * The key a cluster routes a command by: EVAL/EVALSHA's first key, else the first argument
 * (PUBLISH's channel, SET's key); none for the commands that any node answers.
 *
 * @internal
 */
export const firstKey = (args: ReadonlyArray<string>): string | undefined => {
  const command = (args[0] ?? "").toUpperCase()
  if (command === "EVAL" || command === "EVALSHA") return Number(args[2]) > 0 ? args[3] : undefined
  return keyless.has(command) ? undefined : args[1]
}
