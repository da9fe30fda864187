/**
 * The demo's embedded upstream: a tiny "vector search" service on 127.0.0.1 whose health the
 * scenario switches between healthy, refusing connections, hanging and flaky.
 */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"

export type Mode = "healthy" | "refusing" | "hanging" | "flaky"

export interface Upstream {
  readonly url: string
  readonly requests: () => number
  readonly setMode: (mode: Mode) => Effect.Effect<void>
  readonly mode: () => Mode
}

const listen = (server: http.Server, port: number) =>
  Effect.async<number>((resume) => {
    server.listen(port, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
  })

const close = (server: http.Server, sockets: Set<Socket>) =>
  Effect.async<void>((resume) => {
    for (const socket of sockets) socket.destroy()
    if (!server.listening) return resume(Effect.void)
    server.close(() => resume(Effect.void))
  })

/** Starts the upstream for the life of the scope. `flakyRate` of requests fail with 503 in flaky mode. */
export const makeUpstream = (flakyRate = 0.3) =>
  Effect.gen(function*() {
    let mode: Mode = "healthy"
    let requests = 0
    const sockets = new Set<Socket>()
    const server = http.createServer((req, res) => {
      requests++
      req.resume()
      req.on("end", () => {
        if (mode === "hanging") return // never answers: the client's timeout has to end it
        if (mode === "flaky" && Math.random() < flakyRate) {
          res.writeHead(503, { "content-type": "application/json" })
          return res.end(JSON.stringify({ error: "overloaded" }))
        }
        res.writeHead(200, { "content-type": "application/json" })
        if (req.url === "/charge") {
          // billing says which key it saw: the key is what lets it tell a retry from a second charge
          return res.end(JSON.stringify({ charged: true, idempotency_key: req.headers["idempotency-key"] ?? null }))
        }
        res.end(
          JSON.stringify({ results: ["effect", "resilience", "circuit breaker"].map((text, i) => ({ id: i, text })) })
        )
      })
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    const port = yield* listen(server, 0)
    yield* Effect.addFinalizer(() => close(server, sockets))
    const upstream: Upstream = {
      url: `http://127.0.0.1:${port}`,
      requests: () => requests,
      mode: () => mode,
      setMode: (next) =>
        Effect.gen(function*() {
          const wasRefusing = mode === "refusing"
          mode = next
          if (next === "refusing") yield* close(server, sockets) // nothing listens: connections are refused
          else if (wasRefusing) yield* listen(server, port)
          else if (next === "healthy") { for (const socket of sockets) socket.destroy() // drop hung requests
           }
        })
    }
    return upstream
  })
