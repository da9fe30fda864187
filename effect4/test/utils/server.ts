import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"

export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

export type Handler = (request: SeenRequest, response: http.ServerResponse, index: number) => void

export interface TestServer {
  readonly url: string
  readonly port: number
  readonly requests: Array<SeenRequest>
  /** Connections the server accepted so far. */
  readonly accepted: () => number
  /** Connections open right now. */
  readonly live: () => number
  setHandler(handler: Handler): void
}

/**
 * A real HTTP server on 127.0.0.1, port 0, for the life of the scope. It records every request
 * (with its body) and counts connections; the handler answers. Closing the scope closes every
 * connection and then the server.
 */
export const makeServer = (initial: Handler): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: http.Server; api: TestServer }>((resume) => {
      let handler = initial
      let accepted = 0
      const sockets = new Set<Socket>()
      const requests: Array<SeenRequest> = []
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const seen: SeenRequest = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          requests.push(seen)
          handler(seen, res, requests.length - 1)
        })
      })
      server.keepAliveTimeout = 30_000
      server.on("connection", (socket) => {
        accepted++
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          server,
          api: {
            url: `http://127.0.0.1:${port}`,
            port,
            requests,
            accepted: () => accepted,
            live: () => sockets.size,
            setHandler: (h) => {
              handler = h
            }
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ api }) => api))

/** Answers with a status and a JSON body. */
export const json = (status: number, body: unknown = {}): Handler => (_req, res) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** Answers each request with the next status of the list (the last one repeats). */
export const sequence = (...statuses: ReadonlyArray<number>): Handler => (req, res, index) =>
  json(statuses[Math.min(index, statuses.length - 1)]!, { index })(req, res, index)

/** Never answers. */
export const hang: Handler = () => {}

/** Destroys the connection without answering. */
export const reset: Handler = (_req, res) => {
  res.socket?.destroy()
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export const refusedPort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
