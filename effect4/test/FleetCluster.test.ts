/**
 * Fleet mode on a Redis Cluster of three masters that the tests start themselves: commands and
 * scripts reach the node of their key, messages cross nodes, and openings propagate for services
 * whose keys live on every node, between replicas connected to different nodes. The `cluster`
 * option's bad values are ConfigErrors naming the field.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as SchemaIssue from "effect/SchemaIssue"
import { afterAll, beforeAll } from "vitest"
import { describeWithRedis } from "../../test/utils/redisSuite.js"
import { CircuitBreaker, Fleet } from "../src/index.js"
import * as Scripts from "../src/internal/fleetScripts.js"
import * as Redis from "../src/internal/redis.js"
import { awaitState, boom, pollUntil } from "./utils/fleet.js"
import * as RedisClient from "./utils/redisClient.js"
import { type RedisCluster, startCluster } from "./utils/redisCluster.js"

describe("Fleet.layerRedis cluster option", () => {
  const build = (options: Record<string, unknown>) =>
    Effect.exit(Effect.scoped(Layer.build(Fleet.layerRedis({ fleet: "f", ...options } as unknown as Fleet.Options))))
  const pathOf = (exit: Exit.Exit<unknown, unknown>) => {
    const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
    if (!(failure instanceof Config.ConfigError) || !("issue" in failure.cause)) return undefined
    return failure.cause.issue instanceof SchemaIssue.Pointer ? failure.cause.issue.path.map(String) : undefined
  }
  const cases: ReadonlyArray<[string, Record<string, unknown>]> = [
    ["cluster", { url: "redis://127.0.0.1:1", cluster: "yes" }],
    ["cluster", { url: "redis://127.0.0.1:1", cluster: { rootNodes: "redis://127.0.0.1:2" } }],
    ["cluster", { url: "redis://127.0.0.1:1", cluster: { rootNodes: ["127.0.0.1:2"] } }],
    ["url", { url: "redis://127.0.0.1:1/3", cluster: true }]
  ]
  for (const [field, options] of cases) {
    it.effect(`${JSON.stringify(options)} is a ConfigError naming ${field}`, () =>
      Effect.map(build(options), (exit) => expect(pathOf(exit)).toEqual([field])))
  }
})

describeWithRedis("Fleet on a Redis Cluster", () => {
  let cluster: RedisCluster | undefined
  beforeAll(async () => {
    cluster = await startCluster()
  }, 30_000)
  afterAll(async () => {
    await cluster?.stop()
  })
  const nodes = () => cluster!.nodes

  /** Which master (0, 1, 2) holds `key`, as the cluster computes it. */
  const nodeOf = (key: string) =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* RedisClient.connectReady(nodes()[0]!.url)
      const slot = Number(yield* node.send(["CLUSTER", "KEYSLOT", key]))
      return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2
    }))

  /** `count` names for each master, each naming a key (through `keyOf`) held by that master. */
  const spread = (prefix: string, count: number, keyOf: (name: string) => string) =>
    Effect.gen(function*() {
      const byNode: Array<Array<string>> = [[], [], []]
      for (let i = 0; byNode.some((names) => names.length < count); i++) {
        const name = `${prefix}-${i}`
        const names = byNode[yield* nodeOf(keyOf(name))]!
        if (names.length < count) names.push(name)
      }
      return byNode.flat()
    })

  it.live("a cluster connection sends commands and scripts to the node of their key and hears every node", () =>
    Effect.gen(function*() {
      const connection = yield* RedisClient.connectReady(nodes()[0]!.url, 500, { cluster: { rootNodes: [] } })
      const keys = yield* spread("cluster-key", 1, (name) => name)
      const echo = yield* Redis.script(
        "cluster-echo",
        "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"
      )
      for (const key of keys) {
        expect(yield* connection.script(echo, [key], [`value of ${key}`])).toBe(`value of ${key}`)
        expect(yield* connection.send(["GET", key])).toBe(`value of ${key}`)
      }
      // a message published on any node reaches the subscription
      const messages = yield* Queue.unbounded<string>()
      yield* connection.subscribe("cluster-test:channel", (message) => Queue.offerUnsafe(messages, message))
      for (const node of nodes()) {
        const publisher = yield* RedisClient.connectReady(node.url)
        yield* RedisClient.publishUntilReceived(publisher, messages, "cluster-test:channel", `from ${node.port}`)
      }
    }))

  it.live("a node that hangs costs its own slots a Timeout; the other nodes answer, and it does once back", () =>
    Effect.gen(function*() {
      const connection = yield* RedisClient.connectReady(nodes()[0]!.url, 300, {
        cluster: { rootNodes: [] },
        heartbeatMillis: 200
      })
      const [first, second, third] = yield* spread("hang-key", 1, (name) => name)
      for (const key of [first!, second!, third!]) yield* connection.send(["SET", key, "v"])
      nodes()[1]!.signal("SIGSTOP")
      yield* Effect.addFinalizer(() => Effect.sync(() => nodes()[1]!.signal("SIGCONT")))
      const error = yield* Effect.flip(connection.send(["GET", second!]))
      expect(error.reason).toBe("Timeout")
      // the timeout recycled the cluster client; the new one serves the other nodes' slots
      expect(yield* pollUntil(Effect.result(connection.send(["GET", third!])), Result.isSuccess)).toEqual(
        Result.succeed("v")
      )
      expect(yield* connection.send(["GET", first!])).toBe("v")
      nodes()[1]!.signal("SIGCONT")
      expect(yield* pollUntil(Effect.result(connection.send(["GET", second!])), Result.isSuccess)).toEqual(
        Result.succeed("v")
      )
    }))

  it.live(
    "openings propagate for 6 services on the three masters, between replicas connected to different nodes",
    () =>
      Effect.gen(function*() {
        const fleet = `cluster-fleet-${Math.random().toString(36).slice(2)}`
        const services = yield* spread("service", 2, (name) => Scripts.serviceKeys(fleet, name).state)
        const replicas = yield* Effect.forEach(nodes(), (node, i) =>
          Effect.gen(function*() {
            const context = yield* Layer.build(Fleet.layerRedis({
              fleet,
              url: node.url,
              cluster: true,
              replica: `r${i}`,
              heartbeat: "100 millis",
              commandTimeout: "500 millis",
              connectTimeout: "500 millis"
            }))
            const breakers = yield* Effect.forEach(services, (name) =>
              CircuitBreaker.make({ name, failureThreshold: 2, recoveryTimeout: "30 seconds" }).pipe(
                Effect.provide(context)
              ))
            return { fleet: Context.get(context, Fleet.Fleet), breakers }
          }))
        // every replica is in the fleet: its heartbeat is listed
        yield* pollUntil(replicas[0]!.fleet.replicas, (listed) => listed.length === 3)
        yield* Effect.forEach(services, (_, j) =>
          Effect.gen(function*() {
            const opener = replicas[j % 3]!
            yield* Effect.ignore(opener.breakers[j]!(boom)).pipe(Effect.repeat({ times: 1 }))
            yield* Effect.forEach(replicas, (replica) => awaitState(replica.breakers[j]!, "open"), {
              concurrency: "unbounded"
            })
          }), { concurrency: "unbounded" })
      }),
    30_000
  )
})
