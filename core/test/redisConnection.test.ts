/**
 * The pure part of the fleet's Redis connection: replies read, errors classified, the client's
 * liveness options, cluster routing and the `cluster` option's issues.
 */
import { describe, expect, it } from "vitest"
import * as Redis from "../src/redisConnection.js"

describe("redisConnection", () => {
  it("reads replies: strings, numbers, null, nested arrays, bigints and bytes", () => {
    expect(Redis.toReply(["a", 1, null, [BigInt(7), new TextEncoder().encode("b")]])).toEqual(["a", 1, null, [7, "b"]])
    expect(Redis.toReply(true)).toBe("true")
  })

  it("classifies errors: a lost connection is Unavailable, a server error Reply, a timed-out command Timeout", () => {
    expect(Redis.classifyError(new Error("Socket closed unexpectedly")).reason).toBe("Unavailable")
    expect(Redis.classifyError(new Error("The client is closed")).reason).toBe("Unavailable")
    const reply = Object.assign(new Error("WRONGTYPE Operation against a key"), { name: "ErrorReply" })
    expect(Redis.classifyError(reply)).toEqual({ reason: "Reply", message: "WRONGTYPE Operation against a key" })
    expect(Redis.classifyError(new Error("Command timed out after 200ms")).reason).toBe("Timeout")
    class TimeoutError extends Error {}
    expect(Redis.classifyError(new TimeoutError("")).reason).toBe("Timeout")
    expect(Redis.classifyError("something else").reason).toBe("Unavailable")
    expect(Redis.isNoScript(Redis.classifyError(new Error("NOSCRIPT No matching script")))).toBe(true)
    expect(Redis.isNoScript({ reason: "Unavailable", message: "NOSCRIPT" })).toBe(false)
  })

  it("pings every half heartbeat and drops a socket silent for a heartbeat and a command timeout (1 s at least)", () => {
    const commands = Redis.connectionOptions({
      commandTimeoutMillis: 200,
      connectTimeoutMillis: 300,
      heartbeatMillis: 2_000
    }, "commands")
    expect(commands).toMatchObject({
      RESP: 2,
      disableOfflineQueue: true,
      pingInterval: 1_000,
      socket: { connectTimeout: 300, socketTimeout: 2_200 }
    })
    const small = Redis.connectionOptions({
      commandTimeoutMillis: 200,
      connectTimeoutMillis: 300,
      heartbeatMillis: 100
    }, "subscriber")
    expect(small.disableOfflineQueue).toBe(false)
    expect(small.socket.socketTimeout).toBe(Redis.minimumSocketTimeoutMillis)
    expect([0, 1, 5, 6, 20].map(small.socket.reconnectStrategy)).toEqual([50, 100, 1_600, 2_000, 2_000])
  })

  it("routes a cluster command by its first key; commands any node answers have none", () => {
    expect(Redis.firstKey(["EVALSHA", "sha", "2", "k1", "k2", "arg"])).toBe("k1")
    expect(Redis.firstKey(["EVAL", "return 1", "0"])).toBeUndefined()
    expect(Redis.firstKey(["PUBLISH", "channel", "m"])).toBe("channel")
    expect(Redis.firstKey(["ping"])).toBeUndefined()
  })

  it("takes the credentials and TLS of the url for every node", () => {
    expect(Redis.credentialsOf("rediss://fleet:s%40cret@redis-0:6379")).toEqual({
      username: "fleet",
      password: "s@cret",
      tls: true
    })
    expect(Redis.credentialsOf("redis://redis-0:6379")).toEqual({ tls: false })
  })

  it("checks the cluster option: each bad value is an issue at cluster or url", () => {
    const url = "redis://127.0.0.1:1"
    expect(Redis.checkCluster(url, undefined)).toEqual({ _tag: "Valid", value: undefined })
    expect(Redis.checkCluster(url, true)).toEqual({ _tag: "Valid", value: { rootNodes: [] } })
    const pathOf = (checked: ReturnType<typeof Redis.checkCluster>) =>
      checked._tag === "Invalid" ? checked.issue.path : undefined
    expect(pathOf(Redis.checkCluster(url, "yes"))).toEqual(["cluster"])
    expect(pathOf(Redis.checkCluster(url, { rootNodes: ["127.0.0.1:2"] }))).toEqual(["cluster"])
    expect(pathOf(Redis.checkCluster(`${url}/3`, true))).toEqual(["url"])
    expect(Redis.checkCluster(`${url}/0`, { rootNodes: ["redis://127.0.0.1:2"] })).toEqual({
      _tag: "Valid",
      value: { rootNodes: ["redis://127.0.0.1:2"] }
    })
  })
})
