/**
 * Servers for fault-injection tests, on 127.0.0.1 port 0 only: a node:http server and a raw
 * node:net server that writes whatever bytes a test wants. Both count connections and can wait,
 * event-driven, until every connection is closed.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as HttpClient from "effect/http/HttpClient"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { ResilientServiceClient } from "../../src/index.js"

export interface FaultServer {
  readonly url: string
  /** Requests seen (for the raw server: request heads received). */
  readonly requests: () => number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Connections open right now. */
  readonly live: () => number
  /** Completes once no connection is open (at once when none is). */
  readonly idle: Effect.Effect<void>
}

const tracker = () => {
  const sockets = new Set<net.Socket>()
  const waiters = new Set<() => void>()
  let accepted = 0
  const track = (socket: net.Socket) => {
    accepted++
    sockets.add(socket)
    socket.on("close", () => {
      sockets.delete(socket)
      if (sockets.size === 0) {
        for (const waiter of waiters) waiter()
        waiters.clear()
      }
    })
  }
  const idle = Effect.callback<void>((resume) => {
    if (sockets.size === 0) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    waiters.add(waiter)
    return Effect.sync(() => waiters.delete(waiter))
  })
  return { sockets, track, idle, accepted: () => accepted }
}

const listen = (server: net.Server) =>
  Effect.callback<number>((resume) => {
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: net.Server, sockets: Set<net.Socket>) =>
  Effect.callback<void>((resume) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resume(Effect.void))
  })

/**
 * Tracks the server's connections and listens on 127.0.0.1:0 until the scope closes (then every
 * connection is destroyed and the server closed); `requests` counts what it has seen.
 */
export const serve = (server: net.Server, requests: () => number): Effect.Effect<FaultServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const t = tracker()
    server.on("connection", t.track)
    const port = yield* Effect.acquireRelease(listen(server), () => close(server, t.sockets))
    return {
      url: `http://127.0.0.1:${port}`,
      requests,
      accepted: t.accepted,
      live: () => t.sockets.size,
      idle: t.idle
    } satisfies FaultServer
  })

/**
 * A node:http server; `handle` answers each request (with its 0-based index). Timers a handler
 * starts should be cleared on `res.on("close")`.
 */
export const httpServer = (
  handle: (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void
): Effect.Effect<FaultServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    let requests = 0
    const server = http.createServer((req, res) => {
      const index = requests++
      req.resume()
      req.on("end", () => handle(req, res, index))
    })
    server.keepAliveTimeout = 30_000
    return yield* serve(server, () => requests)
  })

/**
 * A raw TCP server that speaks just enough HTTP/1.1 to read request heads (requests without a
 * body); `handle` writes the answer, byte by byte if it likes.
 */
export const rawServer = (
  handle: (socket: net.Socket, index: number) => void
): Effect.Effect<FaultServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    let requests = 0
    const server = net.createServer((socket) => {
      let buffer = ""
      socket.on("error", () => {})
      socket.on("data", (chunk: Buffer) => {
        buffer += chunk.toString("latin1")
        let end = buffer.indexOf("\r\n\r\n")
        while (end >= 0) {
          buffer = buffer.slice(end + 4)
          handle(socket, requests++)
          end = buffer.indexOf("\r\n\r\n")
        }
      })
    })
    return yield* serve(server, () => requests)
  })

/**
 * Builds a client on its own scope, with its own transport from `layer` in that scope, runs
 * `use`, closes the scope (the dispatcher and its sockets with it) and returns what `use` returned.
 */
export const withClientOn = (layer: Layer.Layer<HttpClient.HttpClient>) =>
<A, E, R>(
  options: ResilientServiceClient.Options,
  use: (client: ResilientServiceClient.ResilientServiceClient) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Config.ConfigError, R> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    return yield* Effect.gen(function*() {
      const context = yield* Layer.buildWithScope(layer, scope)
      const client = yield* ResilientServiceClient.make(options).pipe(
        Effect.provide(context),
        Scope.provide(scope)
      )
      return yield* use(client)
    }).pipe(Effect.onExit((exit) => Scope.close(scope, Exit.asVoid(exit))))
  })

/** {@link withClientOn} Effect 4's own `NodeHttpClient.layerUndici`. */
export const withUndiciClient = withClientOn(NodeHttpClient.layerUndici)

/** Answers with `status`, JSON `body` (with its `content-length`) and extra `headers`. */
export const answerJson = (
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {}
) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}
