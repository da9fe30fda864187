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
import { redisServerPath, startRedis } from "../../test/utils/redisServer.js"

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

interface Replica {
  readonly name: string
  readonly child: ChildProcess
  /** Resolves on the next message of this type from the replica. */
  readonly next: (type: string) => Promise<void>
}

/** Starts the three replica processes once; each run tells them what to do over IPC. */
const startReplicas = (redisUrl: string, changes: Array<Change>, onChange: () => void) =>
  Promise.all(["replica-1", "replica-2", "replica-3"].map((name, i) =>
    new Promise<Replica>((resolve, reject) => {
      // replica 1 is the busiest: it sees the failures first
      const interval = i === 0 ? 10 : 60
      const child = fork(replicaScript, [redisUrl, name, String(interval)], {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      const waiting = new Map<string, Array<() => void>>()
      child.on("message", (message: { type: string }) => {
        if (message.type === "change") {
          changes.push(message as Change)
          onChange()
        }
        const resolvers = waiting.get(message.type) ?? []
        waiting.delete(message.type)
        for (const done of resolvers) done()
      })
      const next = (type: string) =>
        new Promise<void>((done) => waiting.set(type, [...(waiting.get(type) ?? []), done]))
      child.once("exit", (code) => reject(new Error(`${name} exited (${code}) before it started`)))
      void next("started").then(() => resolve({ name, child, next }))
    })
  ))

/** Resolves once `done` holds (checked at every transition), or after 10 s at most. */
const until = (done: () => boolean, watch: (check: () => void) => void) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000)
    const check = () => {
      if (done()) {
        clearTimeout(timer)
        resolve()
      }
    }
    watch(check)
    check()
  })

const run = async (
  mode: "fleet" | "independent",
  replicas: ReadonlyArray<Replica>,
  changes: Array<Change>,
  watch: (check: () => void) => void
) => {
  const upstream = await startUpstream()
  changes.length = 0
  try {
    await Promise.all(replicas.map((r) => {
      const ready = r.next("ready")
      r.child.send({ type: "run", mode, upstream: upstream.url })
      return ready
    }))
    say(`${mode}: 3 replicas calling ${upstream.url} (replica-1 every 10 ms, the others every 60 ms)`)
    await pause(300)
    say("── upstream down (503)")
    const downAt = Date.now()
    upstream.setDown(true)
    await until(() => new Set(changes.filter((c) => c.to === "open").map((c) => c.replica)).size === 3, watch)
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
    await until(() => {
      const last = new Map<string, string>()
      for (const c of changes) last.set(c.replica, c.to)
      return last.size === 3 && [...last.values()].every((s) => s === "closed")
    }, watch)
    say(`   every replica closed again`)
    say(
      `   requests that reached the dead upstream: ${reached} (${reachedOnceAllOpen} before every replica was open, then ${probes} probes)`
    )
    await Promise.all(replicas.map((r) => {
      const stopped = r.next("stopped")
      r.child.send({ type: "stop" })
      return stopped
    }))
    return reached
  } finally {
    upstream.close()
  }
}

/** What a machine without Redis needs, said before anything starts. */
const missingRedis = [
  "The fleet demo needs redis-server (Redis 6.2 or later) on PATH, and none was found.",
  "It starts a private one on a free loopback port and stops it at the end; install it with:",
  "  Debian, Ubuntu: sudo apt-get install redis-server",
  "  Fedora:         sudo dnf install redis",
  "  macOS:          brew install redis",
  "then run `npm run demo -- --fleet` again."
].join("\n")

const main = async () => {
  if (redisServerPath === undefined) {
    console.error(missingRedis)
    process.exit(1)
  }
  const redis = await startRedis()
  const changes: Array<Change> = []
  let check: () => void = () => undefined
  let replicas: ReadonlyArray<Replica> = []
  try {
    say(`private redis-server on 127.0.0.1:${redis.port}`)
    replicas = await startReplicas(redis.url, changes, () => check())
    const watch = (f: () => void) => {
      check = f
    }
    const fleet = await run("fleet", replicas, changes, watch)
    const independent = await run("independent", replicas, changes, watch)
    say(
      `requests that reached the dead upstream in ${
        downMillis / 1000
      } s: fleet ${fleet}, independent breakers ${independent}`
    )
  } finally {
    for (const replica of replicas) replica.child.kill("SIGKILL")
    await redis.stop()
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
