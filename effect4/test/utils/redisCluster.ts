import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { freePort, type RedisServer, startRedis } from "../../../test/utils/redisServer.js"
import * as RedisClient from "./redisClient.js"

export interface RedisCluster {
  /** The three masters, in the order of their slot ranges (0–5460, 5461–10922, 10923–16383). */
  readonly nodes: ReadonlyArray<RedisServer>
  /** Stops every node and removes their cluster files. */
  readonly stop: () => Promise<void>
}

const ranges = [[0, 5460], [5461, 10922], [10923, 16383]] as const

/**
 * Starts a private Redis Cluster of three masters on free loopback ports (each with its bus on
 * another free port and its `nodes.conf` in a temporary directory), assigns the slots with
 * `CLUSTER ADDSLOTSRANGE`, joins the nodes with `CLUSTER MEET`, and resolves once every node
 * reports `cluster_state:ok` and knows the three (15 s guard).
 */
export const startCluster = async (): Promise<RedisCluster> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-cluster-"))
  const buses = new Map<number, number>()
  const nodes: Array<RedisServer> = []
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < ranges.length; i++) {
      nodes.push(
        await startRedis(async (port) => {
          const bus = await freePort()
          buses.set(port, bus)
          return [
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            String(bus),
            "--cluster-config-file",
            `nodes-${port}.conf`,
            // a node stopped by a test (SIGSTOP) is not declared failed meanwhile
            "--cluster-node-timeout",
            "30000",
            "--dir",
            dir
          ]
        })
      )
    }
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const connections = yield* Effect.forEach(nodes, (node) => RedisClient.connectReady(node.url))
      yield* Effect.forEach(
        connections,
        (connection, i) => connection.send(["CLUSTER", "ADDSLOTSRANGE", String(ranges[i]![0]), String(ranges[i]![1])])
      )
      yield* Effect.forEach(
        nodes.slice(1),
        (node) =>
          connections[0]!.send(["CLUSTER", "MEET", "127.0.0.1", String(node.port), String(buses.get(node.port))])
      )
      const ready = Effect.forEach(connections, (connection) => connection.send(["CLUSTER", "INFO"])).pipe(
        Effect.map((infos) =>
          infos.every((info) =>
            String(info).includes("cluster_state:ok") && String(info).includes("cluster_known_nodes:3")
          )
        )
      )
      yield* ready.pipe(
        Effect.repeat({ until: (ok) => ok, schedule: Schedule.spaced("20 millis") }),
        Effect.timeoutOrElse({
          duration: "15 seconds",
          orElse: () => Effect.fail("the cluster never reached cluster_state:ok")
        })
      )
    })))
    return { nodes, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
