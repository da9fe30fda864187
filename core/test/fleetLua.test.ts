/**
 * The pure side of the fleet's scripts: the keys of a service stay in one Redis Cluster slot
 * whatever its name, and the replies the editions get from Redis decode to answers or are
 * refused as malformed. (The scripts themselves run against a real redis-server in each edition's
 * FleetScripts tests.)
 */
import { describe, expect, it } from "vitest"
import * as Lua from "../src/fleetLua.js"

describe("fleet keys", () => {
  it("share one hash tag per service, with names URI-encoded so a brace cannot move the tag", () => {
    expect(Lua.serviceKeys("prod", "billing")).toEqual({
      state: "fleet:{prod:billing}:state",
      proposals: "fleet:{prod:billing}:proposals"
    })
    expect(Lua.serviceKeys("a}b", "{x}").state).toBe("fleet:{a%7Db:%7Bx%7D}:state")
    expect(Lua.replicasKey("prod")).toBe("fleet:{prod}:replicas")
    expect(Lua.expiriesKey("prod")).toBe("fleet:{prod}:replicas:expiries")
    expect(Lua.channel("prod")).toBe("fleet:{prod}:changes")
  })

  it("every script has a name and a Lua source", () => {
    for (const [key, script] of Object.entries(Lua.sources)) {
      expect(script.name).toBe(`fleet-${key}`)
      expect(script.source).toMatch(/return/)
    }
  })
})

describe("replies", () => {
  const reply = ["granted", 1700, 3, "half_open", -5, 2000, "replica-a", 0]

  it("a well-formed answer decodes, with remaining times never negative", () => {
    expect(Lua.decodeAnswer(["granted", "denied"], reply)).toEqual({
      outcome: "granted",
      count: 0,
      view: {
        epoch: 1700,
        generation: 3,
        state: "half_open",
        remainingMillis: 0,
        leaseRemainingMillis: 2000,
        by: "replica-a"
      }
    })
  })

  it("an outcome the script cannot give, a short reply or a wrong type is malformed", () => {
    expect(Lua.decodeAnswer(["applied"], reply)).toBeUndefined()
    expect(Lua.decodeAnswer(["granted"], reply.slice(0, 7))).toBeUndefined()
    expect(Lua.decodeAnswer(["granted"], reply.map((v, i) => i === 3 ? "ajar" : v))).toBeUndefined()
    expect(Lua.decodeAnswer(["granted"], "granted")).toBeUndefined()
    expect(Lua.malformedMessage("fleet-read", [1, "x"])).toBe(`fleet-read: unexpected reply [1,"x"]`)
  })

  it("the replicas list decodes entry by entry", () => {
    expect(Lua.decodeReplicas([["a", 12, "[]"]])).toEqual([{ replica: "a", ageMillis: 12, statuses: "[]" }])
    expect(Lua.decodeReplicas([["a", "12", "[]"]])).toBeUndefined()
    expect(Lua.decodeReplicas([["a", 12]])).toBeUndefined()
    expect(Lua.decodeReplicas(null)).toBeUndefined()
  })

  it("script arguments are whole, non-negative milliseconds", () => {
    expect([Lua.integer(1.6), Lua.integer(-3), Lua.integer(0)]).toEqual(["2", "0", "0"])
  })

  it("a channel message decodes; one from a replica without epochs has epoch 0; others are ignored", () => {
    expect(Lua.decodeChange(`{"service":"s","gen":2,"state":"open","remaining":-1,"by":"r"}`)).toEqual({
      service: "s",
      epoch: 0,
      generation: 2,
      state: "open",
      remainingMillis: 0,
      by: "r"
    })
    expect(Lua.decodeChange(`{"service":"s","gen":2,"state":"half_open","remaining":1,"by":"r"}`)).toBeUndefined()
    expect(Lua.decodeChange("not json")).toBeUndefined()
  })
})
