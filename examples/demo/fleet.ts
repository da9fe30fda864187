/**
 * `npm run demo -- --fleet`: three replica processes (fleetReplica.ts) behind one embedded
 * upstream and a private redis-server. The upstream breaks; replica 1 (the busiest) opens and
 * the others follow through the fleet, with the measured delay; while it is down the fleet sends
 * one probe per recovery period; then it comes back and every replica closes. The same run with
 * independent breakers follows, and the requests that reached the dead upstream are compared.
 * It exits by itself and stops everything it started.
 */
import { type ChildProcess, fork } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { startRedis } from "../../test/utils/redisServer.js"

const quick = process.argv.includes("--quick")
const downMillis = quick ? 2_500 : 4_000

const started = performance.now()
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`
const say = (line: string) => console.log(`${stamp()} ${line}`)
const pause = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

interface Change {
  readonly type: "change"
  readonly replica: string
  readonly from: string
  readonly to: string
  readonly wallTime: number
}

/** The upstream: 200 while up, 503 while down; counts the requests that reach it while down. */
const startUpstream = () =>
  new Promise<{ url: string; setDown: (down: boolean) => void; reachedWhileDown: () => number; close: () => void }>(
    (resolve) => {
      let down = false
      let reached = 0
      const server = http.createServer((request, response) => {
        request.resume()
        if (down) reached++
        response.statusCode = down ? 503 : 200
        response.end(down ? "down" : "ok")
      })
      server.keepAliveTimeout = 30_000
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resolve({
          url: `http://127.0.0.1:${port}/`,
          setDown: (value) => {
            down = value
          },
          reachedWhileDown: () => reached,
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        })
      })
    }
  )

const replicaScript = fileURLToPath(new URL("./fleetReplica.ts", import.meta.url))

const run = async (mode: "fleet" | "independent", redisUrl: string) => {
  const upstream = await startUpstream()
  const children: Array<ChildProcess> = []
  const changes: Array<Change> = []
  let onChange: (() => void) | undefined
  try {
    const ready = ["replica-1", "replica-2", "replica-3"].map((name, i) =>
      new Promise<void>((resolve, reject) => {
        // replica 1 is the busiest: it sees the failures first
        const interval = i === 0 ? 10 : 60
        const child = fork(replicaScript, [redisUrl, upstream.url, name, mode, String(interval)], {
          execArgv: ["--import", "tsx"],
          stdio: ["ignore", "inherit", "inherit", "ipc"]
        })
        children.push(child)
        child.on("message", (message: { type: string }) => {
          if (message.type === "ready") resolve()
          if (message.type === "change") {
            changes.push(message as Change)
            onChange?.()
          }
        })
        child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before it was ready`)))
      })
    )
    await Promise.all(ready)
    say(`${mode}: 3 replicas calling ${upstream.url} (replica-1 every 10 ms, the others every 60 ms)`)
    await pause(300)
    say("── upstream down (503)")
    const downAt = Date.now()
    upstream.setDown(true)
    // wait until the three replicas are open (or 10 s at most)
    await new Promise<void>((resolve) => {
      const check = () => {
        if (new Set(changes.filter((c) => c.to === "open").map((c) => c.replica)).size === 3) resolve()
      }
      onChange = check
      check()
      setTimeout(resolve, 10_000)
    })
    const reachedOnceAllOpen = upstream.reachedWhileDown()
    const firstOpenings = new Map<string, number>()
    for (const c of changes) {
      if (c.to === "open" && !firstOpenings.has(c.replica)) firstOpenings.set(c.replica, c.wallTime)
    }
    const first = Math.min(...firstOpenings.values())
    for (const [replica, at] of [...firstOpenings.entries()].sort((a, b) => a[1] - b[1])) {
      say(
        `   ${replica} open ${at - downAt} ms after the outage began${
          at === first ? "" : ` (${at - first} ms after the first)`
        }`
      )
    }
    await pause(downMillis)
    const reached = upstream.reachedWhileDown()
    const probes = reached - reachedOnceAllOpen
    say(`── upstream back up after ${Date.now() - downAt} ms`)
    upstream.setDown(false)
    await new Promise<void>((resolve) => {
      const check = () => {
        const last = new Map<string, string>()
        for (const c of changes) last.set(c.replica, c.to)
        if ([...last.values()].every((s) => s === "closed") && last.size === 3) resolve()
      }
      onChange = check
      check()
      setTimeout(resolve, 10_000)
    })
    say(`   every replica closed again`)
    say(
      `   requests that reached the dead upstream: ${reached} (${reachedOnceAllOpen} before every replica was open, then ${probes} probes)`
    )
    return reached
  } finally {
    for (const child of children) child.kill("SIGKILL")
    upstream.close()
  }
}

const main = async () => {
  const redis = await startRedis()
  try {
    say(`private redis-server on 127.0.0.1:${redis.port}`)
    const fleet = await run("fleet", redis.url)
    const independent = await run("independent", redis.url)
    say(
      `requests that reached the dead upstream in ${
        downMillis / 1000
      } s: fleet ${fleet}, independent breakers ${independent}`
    )
  } finally {
    await redis.stop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
