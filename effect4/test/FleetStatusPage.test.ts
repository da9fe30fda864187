/**
 * The fleet section of the status page: rendered from a hand-made fleet, every name escaped, a
 * line saying so while Redis does not answer, and filled in by `StatusApi.page` when a `Fleet`
 * is in context (absent otherwise).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Fleet, type ServiceRegistry, StatusApi } from "../src/index.js"
import { getText, serve, TestLive } from "./utils/statusServer.js"

const emptySnapshot: ServiceRegistry.Snapshot = { takenAt: new Date(60_000), services: {} }

const status = (service: string, state: "closed" | "open" | "half_open") => ({
  service,
  state,
  failure_count: state === "closed" ? 0 : 5,
  last_failure: null,
  last_state_change: "2026-12-01T10:00:00.000Z"
})

const replicas: ReadonlyArray<Fleet.ReplicaStatus> = [
  { replica: "r1", ageMillis: 250, services: { billing: status("billing", "open"), auth: status("auth", "closed") } },
  { replica: "<r2>", ageMillis: 1_500, services: { billing: status("billing", "half_open") } }
]

describe("status page: fleet section", () => {
  it("lists every replica with the state of each of its breakers, names escaped", () => {
    const html = StatusApi.renderPage(emptySnapshot, { fleet: { fleet: "check<out>", replica: "r1", replicas } })
    expect(html).toContain(`data-fleet="check&lt;out&gt;"`)
    expect(html).not.toContain("<r2>")
    expect(html).toContain(`<tr data-replica="&lt;r2&gt;">`)
    // columns: every service seen on any replica, sorted
    expect(html).toMatch(/<th>Replica<\/th><th>Heartbeat<\/th><th>auth<\/th><th>billing<\/th>/)
    const row = (replica: string) => html.slice(html.indexOf(`data-replica="${replica}"`)).split("</tr>")[0]!
    expect(row("r1")).toContain("r1 (this one)")
    expect(row("r1")).toContain("250 ms ago")
    expect(row("r1")).toMatch(/data-service="billing"><span class="state" data-state="open">/)
    expect(row("&lt;r2&gt;")).toMatch(/data-service="auth">—/)
    expect(row("&lt;r2&gt;")).toMatch(/data-service="billing"><span class="state" data-state="half_open">/)
    expect(row("&lt;r2&gt;")).toContain("1 s ago")
  })

  it("says so while Redis does not answer, and shows no section without a fleet", () => {
    const down = StatusApi.renderPage(emptySnapshot, {
      fleet: { fleet: "checkout", replica: "r1", replicas: undefined }
    })
    expect(down).toContain("Redis does not answer")
    expect(StatusApi.renderPage(emptySnapshot)).not.toContain(`class="fleet"`)
  })

  const fakeFleet = (answer: Effect.Effect<ReadonlyArray<Fleet.ReplicaStatus>, Fleet.RedisError>): Fleet.Fleet => ({
    fleet: "checkout",
    replica: "r1",
    reachable: Effect.succeed(true),
    replicas: answer
  })

  // the page served for real on 127.0.0.1, with or without a fleet in context when its routes are built
  const pageWith = (fleet: Fleet.Fleet | undefined) =>
    Effect.gen(function*() {
      yield* serve(
        fleet === undefined ? StatusApi.page : StatusApi.page.pipe(Layer.provide(Layer.succeed(Fleet.Fleet, fleet)))
      )
      return (yield* getText(StatusApi.pagePath)).body
    }).pipe(Effect.provide(TestLive), Effect.scoped)

  it.live("StatusApi.page fills the section from the Fleet in context; without one there is none", () =>
    Effect.gen(function*() {
      const html = yield* pageWith(fakeFleet(Effect.succeed(replicas)))
      expect(html).toContain(`data-fleet="checkout"`)
      expect(html).toContain(`data-replica="r1"`)
      const down = yield* pageWith(
        fakeFleet(Effect.fail(new Fleet.RedisError({ reason: "Timeout", message: "no answer" })))
      )
      expect(down).toContain("Redis does not answer")
      expect(yield* pageWith(undefined)).not.toContain(`class="fleet"`)
    }))
})
