import * as net from "node:net"

export interface TcpProxy {
  readonly port: number
  /** `redis://127.0.0.1:<port>`: the proxy's address as a Redis URL. */
  readonly url: string
  /**
   * Stops forwarding on every connection open now, both ways, without closing either side: what
   * a middlebox or a NAT that forgot the connection does. Connections made later are forwarded.
   */
  readonly stall: () => void
  /** How many connections the proxy accepted so far. */
  readonly accepted: () => number
  /** Closes the listener and every connection. */
  readonly close: () => Promise<void>
}

/**
 * A TCP proxy on a free 127.0.0.1 port that forwards every connection to `127.0.0.1:targetPort`
 * until told to stall.
 */
export const startTcpProxy = (targetPort: number): Promise<TcpProxy> =>
  new Promise((resolve, reject) => {
    const pairs = new Set<{ readonly client: net.Socket; readonly upstream: net.Socket; stalled: boolean }>()
    let accepted = 0
    const server = net.createServer((client) => {
      accepted++
      const upstream = net.connect(targetPort, "127.0.0.1")
      const pair = { client, upstream, stalled: false }
      pairs.add(pair)
      const forward = (from: net.Socket, to: net.Socket) => {
        from.on("data", (chunk) => {
          if (!pair.stalled) to.write(chunk)
        })
      }
      forward(client, upstream)
      forward(upstream, client)
      const end = () => {
        pairs.delete(pair)
        client.destroy()
        upstream.destroy()
      }
      client.on("error", end).on("close", end)
      upstream.on("error", end).on("close", end)
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        port,
        url: `redis://127.0.0.1:${port}`,
        stall: () => {
          for (const pair of pairs) {
            pair.stalled = true
            // nothing is read any more: what is sent stays in the kernel's buffers, unanswered
            pair.client.pause()
            pair.upstream.pause()
          }
        },
        accepted: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            for (const pair of pairs) {
              pair.client.destroy()
              pair.upstream.destroy()
            }
            server.close(() => done())
          })
      })
    })
  })
