// A minimal upstream for the HTTP benchmarks, run as a child process so that its CPU is not
// counted as the client's. Listens on 127.0.0.1, port 0, and reports its port to the parent.
import http from "node:http"

const server = http.createServer((req, res) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "11" })
    res.end("{\"ok\":true}")
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }))
process.on("disconnect", () => process.exit(0))
