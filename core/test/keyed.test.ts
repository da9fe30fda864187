/**
 * The keyed breaker's table: order of use, idle expiry, the cap's choice of a key to drop, and
 * the settings' checks; against a plain model under any mix of operations.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkSettings, defaultIdleMillis, defaults, hostKey, keyOf, KeyTable, registryId } from "../src/keyed.js"
import { isWellFormed } from "../src/validate.js"
import { propertyRuns } from "./utils/propertyRuns.js"

const settings = { idleMillis: 100, maxKeys: 3 }
const always = () => true

describe("KeyTable", () => {
  it("a key is found after it is added, with its call in flight, and not before", () => {
    const table = new KeyTable<string>()
    expect(table.use("a", 0)).toBeUndefined()
    table.add("a", "breaker-a", 0)
    const slot = table.use("a", 1)!
    expect(slot.value).toBe("breaker-a")
    expect(table.peek("a")).toEqual({ key: "a", value: "breaker-a", lastUsed: 1, inFlight: 2 })
    table.release(slot, 5)
    expect(table.peek("a")).toEqual({ key: "a", value: "breaker-a", lastUsed: 5, inFlight: 1 })
  })

  it("release acts on the slot it is given: a later slot of the same key is untouched", () => {
    const table = new KeyTable<string>()
    const first = table.add("a", "first", 0)
    table.release(first, 1)
    const held = table.use("a", 2)!
    // the key is dropped while a call holds it, and made again for a new call
    expect(table.remove("a")).toBe("first")
    const second = table.add("a", "second", 3)
    // the old call ends: the new key keeps its call in flight and its last use
    table.release(held, 10)
    expect(table.peek("a")).toEqual({ key: "a", value: "second", lastUsed: 3, inFlight: 1 })
    expect(held.inFlight).toBe(0)
    table.release(second, 11)
    expect(table.peek("a")).toEqual({ key: "a", value: "second", lastUsed: 11, inFlight: 0 })
  })

  it("keys idle for idleMillis with no call in flight are taken out, the longest idle first", () => {
    const table = new KeyTable<string>()
    table.release(table.add("a", "A", 0), 0)
    table.release(table.add("b", "B", 10), 10)
    const c = table.add("c", "C", 20)
    // c still has its call in flight: it never expires while it does
    expect(table.takeExpired(99, 100, always)).toEqual([])
    expect(table.nextExpiry(50, 100)).toBe(100)
    expect(table.nextExpiry(150, 100)).toBeUndefined()
    // the edition may keep some (an isolated breaker)
    expect(table.takeExpired(500, 100, (v) => v !== "B")).toEqual([["a", "A"]])
    expect(table.peek("a")).toBeUndefined()
    // a use makes the key the most recently used
    table.release(table.add("a", "A", 505), 506)
    expect(table.takeExpired(606, 100, always)).toEqual([["b", "B"], ["a", "A"]])
    expect(table.size).toBe(1)
    expect(table.nextExpiry(700, 100)).toBeUndefined()
    table.release(c, 700)
    expect(table.takeExpired(800, 100, always)).toEqual([["c", "C"]])
    expect(table.size).toBe(0)
  })

  it("an open key is idle from the end of its opening, not from its last use", () => {
    const table = new KeyTable<{ readonly openUntil: number }>()
    const heldUntil = (v: { readonly openUntil: number }) => v.openUntil
    table.release(table.add("open", { openUntil: 1_000 }, 0), 0)
    table.release(table.add("closed", { openUntil: Number.NEGATIVE_INFINITY }, 0), 0)
    expect(table.nextExpiry(0, 100, heldUntil)).toBe(100)
    expect(table.takeExpired(500, 100, always, heldUntil).map(([key]) => key)).toEqual(["closed"])
    expect(table.nextExpiry(500, 100, heldUntil)).toBe(1_100)
    expect(table.takeExpired(1_099, 100, always, heldUntil)).toEqual([])
    expect(table.takeExpired(1_100, 100, always, heldUntil).map(([key]) => key)).toEqual(["open"])
    // an opening with no end (isolated, held open) never expires by idleness
    table.release(table.add("held", { openUntil: Number.POSITIVE_INFINITY }, 0), 0)
    expect(table.takeExpired(1e12, 100, always, heldUntil)).toEqual([])
    expect(table.nextExpiry(1e12, 100, heldUntil)).toBeUndefined()
  })

  it("at the cap a new key takes the place of the least recently used key that may go", () => {
    const table = new KeyTable<{ readonly open: boolean }>()
    const closed = (v: { readonly open: boolean }) => !v.open
    table.add("a", { open: true }, 0)
    table.add("b", { open: false }, 1)
    expect(table.admission(settings, closed)).toEqual({ _tag: "Room" })
    table.add("c", { open: false }, 2)
    // every key has a call in flight: none may go
    expect(table.admission(settings, closed)).toEqual({ _tag: "Full" })
    table.release(table.peek("a")!, 3)
    // a is idle but open: it is never dropped to make room
    expect(table.admission(settings, closed)).toEqual({ _tag: "Full" })
    table.release(table.peek("c")!, 4)
    table.release(table.peek("b")!, 5)
    expect(table.admission(settings, closed)).toEqual({ _tag: "Evict", key: "c" })
    expect(table.remove("c")).toEqual({ open: false })
    expect(table.remove("c")).toBeUndefined()
    expect(table.admission(settings, closed)).toEqual({ _tag: "Room" })
  })

  it("agrees with a model: order of use, expiry and eviction", () => {
    type Op =
      | { readonly _tag: "use"; readonly key: number; readonly dt: number }
      | { readonly _tag: "release"; readonly key: number; readonly dt: number }
      | { readonly _tag: "expire"; readonly dt: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ _tag: fc.constant("use" as const), key: fc.nat(5), dt: fc.nat(60) }),
      fc.record({ _tag: fc.constant("release" as const), key: fc.nat(5), dt: fc.nat(60) }),
      fc.record({ _tag: fc.constant("expire" as const), dt: fc.nat(60) })
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const table = new KeyTable<number>()
        // the model: key -> last use and calls in flight
        const model = new Map<string, { lastUsed: number; inFlight: number }>()
        let now = 0
        for (const o of ops) {
          now += o.dt
          if (o._tag === "use") {
            const key = `k${o.key}`
            if (table.use(key, now) === undefined) {
              const admission = table.admission(settings, always)
              const candidates = Array.from(model).filter(([, s]) => s.inFlight === 0)
                .sort((x, y) => x[1].lastUsed - y[1].lastUsed)
              if (model.size < settings.maxKeys) {
                expect(admission._tag).toBe("Room")
              } else if (candidates.length === 0) {
                expect(admission._tag).toBe("Full")
                continue
              } else {
                expect(admission._tag).toBe("Evict")
                const evicted = (admission as { readonly key: string }).key
                expect(model.get(evicted)!.lastUsed).toBe(candidates[0]![1].lastUsed)
                table.remove(evicted)
                model.delete(evicted)
              }
              table.add(key, o.key, now)
              model.set(key, { lastUsed: now, inFlight: 1 })
            } else {
              const slot = model.get(key)!
              slot.lastUsed = now
              slot.inFlight++
            }
          } else if (o._tag === "release") {
            const key = `k${o.key}`
            const held = table.peek(key)
            if (held !== undefined) table.release(held, now)
            const slot = model.get(key)
            if (slot !== undefined) {
              slot.lastUsed = now
              slot.inFlight = Math.max(0, slot.inFlight - 1)
            }
          } else {
            const expired = table.takeExpired(now, settings.idleMillis, always).map(([key]) => key)
            const expected = Array.from(model).filter(([, s]) =>
              s.inFlight === 0 && now - s.lastUsed >= settings.idleMillis
            )
            expect([...expired].sort()).toEqual(expected.map(([k]) => k).sort())
            for (const key of expired) model.delete(key)
          }
          expect(table.size).toBe(model.size)
          expect(table.size).toBeLessThanOrEqual(settings.maxKeys)
          // least recently used first
          const uses = table.entries().map(([key]) => table.peek(key)!.lastUsed)
          expect(uses).toEqual([...uses].sort((x, y) => x - y))
        }
      }),
      { numRuns: propertyRuns }
    )
  })
})

describe("checkSettings", () => {
  it("defaults: 1 hour idle, 1,000 keys", () => {
    expect(checkSettings(undefined, undefined)).toEqual({
      _tag: "Valid",
      value: { idleMillis: 3_600_000, maxKeys: 1000 }
    })
    expect(defaultIdleMillis).toBe(3_600_000)
    expect(defaults.maxKeys).toBe(1000)
  })

  it("names the bad field", () => {
    expect(checkSettings(0, undefined)).toMatchObject({ _tag: "Invalid", issue: { path: ["idleTimeToLive"] } })
    expect(checkSettings(1000, 0)).toMatchObject({ _tag: "Invalid", issue: { path: ["maxKeys"] } })
    expect(checkSettings(1000, 1.5)).toMatchObject({ _tag: "Invalid", issue: { path: ["maxKeys"] } })
    expect(checkSettings(1000, 7)).toEqual({ _tag: "Valid", value: { idleMillis: 1000, maxKeys: 7 } })
  })

  it("a key is listed under the id and the key", () => {
    expect(registryId("billing", "tenant-1")).toBe("billing/tenant-1")
  })
})

describe("keys", () => {
  it("hostKey: host and port as written, lower case, without userinfo; empty without an authority", () => {
    expect(hostKey("http://Api.Example:8080/x?y#z")).toBe("api.example:8080")
    expect(hostKey("https://alice:pw@db/x")).toBe("db")
    expect(hostKey("http://127.0.0.1:3000")).toBe("127.0.0.1:3000")
    expect(hostKey("/relative/path")).toBe("")
  })

  it("keyOf: a string as given, other values as strings, lone surrogates replaced", () => {
    expect(keyOf("tenant-1")).toBe("tenant-1")
    expect(keyOf(42)).toBe("42")
    expect(keyOf("a\uD800b")).toBe("a\uFFFDb")
    expect(keyOf("\uD83D\uDE00")).toBe("\uD83D\uDE00")
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => isWellFormed(keyOf(s))), { numRuns: propertyRuns })
  })
})
