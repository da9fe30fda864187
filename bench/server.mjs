// The upstream of the HTTP benchmarks, run as a child process so that its CPU is not counted
// as the client's. Listens on 127.0.0.1, port 0 (never another address), and reports its port
// to the parent. Its mode (argv[2] as JSON, or an IPC message { mode }) is what it answers:
//   "ok"           200 {"ok":true}
//   "down"         503
//   "hang"         accepts the request and never answers
//   { flaky: p }   503 with probability p, otherwise 200
import http from "node:http"

let mode = process.argv[2] ? JSON.parse(process.argv[2]) : "ok"

const server = http.createServer((req, res) => {
  req.resume()
  req.on("end", () => {
    if (mode === "hang") return
    const fail = mode === "down" || (typeof mode === "object" && Math.random() < mode.flaky)
    if (fail) {
      res.writeHead(503, { "content-type": "text/plain", "content-length": "4" })
      res.end("down")
      return
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": "11" })
    res.end("{\"ok\":true}")
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }))
process.on("message", (m) => {
  if (m && m.mode !== undefined) {
    mode = m.mode
    process.send({ mode })
  }
})
process.on("disconnect", () => process.exit(0))
