/**
 * The status page: its rendering (from hand-made snapshots), the registry snapshot it is
 * rendered from (real breakers under the TestClock), and its routes, served for real by
 * `NodeHttpServer` on 127.0.0.1 (port 0).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as OpenApi from "effect/http-api/OpenApi"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import * as Core from "../../core/src/statusPage.js"
import { CircuitBreaker, ServiceRegistry, ServiceStatus, StatusApi } from "../src/index.js"
import type { BreakerState } from "../src/ServiceStatus.js"
import { pathOf } from "./utils/configErrors.js"
import { getText, serve, TestLive } from "./utils/statusServer.js"

const T0 = Date.parse("2025-11-15T10:30:45.000Z")
const at = (offsetMillis: number) => new Date(T0 + offsetMillis)

const details = (
  fields: {
    readonly service: string
    readonly state: BreakerState
    readonly failureCount?: number
    readonly lastFailure?: number
    readonly lastStateChange?: number
    readonly nextProbeIn?: Duration.Input
    readonly recentTransitions?: ReadonlyArray<CircuitBreaker.StateChange>
  }
): ServiceRegistry.ServiceDetails => ({
  status: ServiceStatus.fromMillis({
    service: fields.service,
    state: fields.state,
    failureCount: fields.failureCount ?? 0,
    lastFailure: fields.lastFailure === undefined ? undefined : T0 + fields.lastFailure,
    lastStateChange: T0 + (fields.lastStateChange ?? 0)
  }),
  nextProbeIn: fields.nextProbeIn === undefined
    ? Option.none()
    : Option.some(Duration.fromInputUnsafe(fields.nextProbeIn)),
  recentTransitions: fields.recentTransitions ?? []
})

const snapshotOf = (
  services: Record<string, ServiceRegistry.ServiceDetails>,
  takenAt = at(60_000)
): ServiceRegistry.Snapshot => ({ takenAt, services })

const change = (service: string, from: BreakerState, to: BreakerState, offsetMillis: number) => ({
  service,
  from,
  to,
  at: at(offsetMillis)
})

/** The `<article>` of one service: its `data-state` and its inner HTML. */
const cardOf = (html: string, id: string) => {
  const match = html.match(
    new RegExp(`<article class="service" data-service-id="${id}" data-state="([a-z_]+)">([\\s\\S]*?)</article>`)
  )
  expect(match, `a card for ${id}`).not.toBeNull()
  return { state: match![1]!, body: match![2]! }
}

/** The value of a `<dd data-field="…">`, tags removed. */
const fieldOf = (card: string, name: string): string | undefined => {
  const match = card.match(new RegExp(`<dd data-field="${name}">([\\s\\S]*?)</dd>`))
  return match === null ? undefined : match[1]!.replace(/<[^>]*>/g, "")
}

/** The recent transitions as `id from→to`, in page order. */
const transitionsOf = (html: string) =>
  Array.from(
    html.matchAll(/<li data-service-id="([^"]*)" data-from="([a-z_]+)" data-to="([a-z_]+)">/g),
    (m) => `${m[1]} ${m[2]}→${m[3]}`
  )

describe("StatusApi.renderPage", () => {
  it("escapes every string it prints: a hostile service name and id stay text", () => {
    const name = `<script>alert("pwned")</script><img src=x onerror='alert(1)'>&amp;`
    const id = `x" onmouseover="alert(2)`
    const html = StatusApi.renderPage(snapshotOf({
      [id]: details({
        service: name,
        state: "open",
        failureCount: 3,
        lastFailure: 1_000,
        lastStateChange: 1_000,
        nextProbeIn: "30 seconds",
        recentTransitions: [change(name, "closed", "open", 1_000)]
      })
    }))
    expect(html).not.toContain("<script>")
    expect(html).not.toContain("<img")
    expect(html).not.toContain(`onmouseover="alert(2)`)
    expect(html).not.toContain("'alert(1)'")
    const escapedName =
      "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;amp;"
    // in the card's heading and in the list of transitions
    expect(html).toContain(`<h2 class="name">${escapedName}</h2>`)
    expect(html).toContain(`<span class="service-name">${escapedName}</span>`)
    // the id, in attributes and in text
    expect(html).toContain(`data-service-id="x&quot; onmouseover=&quot;alert(2)"`)
    expect(html).toContain(`<code>x&quot; onmouseover=&quot;alert(2)</code>`)
    // no other element than the page's own: every tag is one the renderer writes
    const tags = new Set(Array.from(html.matchAll(/<([a-z0-9]+)[\s>]/gi), (m) => m[1]!.toLowerCase()))
    expect([...tags].sort()).toEqual(
      [
        "article",
        "body",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "h1",
        "h2",
        "head",
        "header",
        "html",
        "li",
        "main",
        "meta",
        "ol",
        "p",
        "section",
        "span",
        "style",
        "time",
        "title"
      ]
    )
  })

  it("shows each state in its colour, with data-state on the card and on the state badge", () => {
    const html = StatusApi.renderPage(snapshotOf({
      chroma: details({ service: "Chroma Server", state: "closed" }),
      billing: details({
        service: "Billing",
        state: "open",
        failureCount: 5,
        lastFailure: 2_000,
        nextProbeIn: "1 minute"
      }),
      auth: details({ service: "Auth", state: "half_open", failureCount: 5, lastFailure: 2_000 })
    }))
    const colours: Record<string, string> = { closed: "#1a7f37", half_open: "#9a6700", open: "#cf222e" }
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1]!
    for (const [id, state] of [["chroma", "closed"], ["billing", "open"], ["auth", "half_open"]] as const) {
      const card = cardOf(html, id)
      expect(card.state).toBe(state)
      expect(card.body).toContain(`<span class="state" data-state="${state}">${state.replace("_", " ")}</span>`)
      expect(style).toContain(`.state[data-state="${state}"]{background-color:${colours[state]}}`)
      expect(style).toContain(`.service[data-state="${state}"]{border-left-color:${colours[state]}}`)
    }
    // cards in registration order
    expect(Array.from(html.matchAll(/<article class="service" data-service-id="([^"]+)"/g), (m) => m[1])).toEqual([
      "chroma",
      "billing",
      "auth"
    ])
    expect(html).toContain("3 services: 1 open, 1 half open, 1 closed")
  })

  it("shows the failure count, the last failure and the last state change, with how long ago", () => {
    const html = StatusApi.renderPage(snapshotOf({
      chroma: details({ service: "Chroma Server", state: "closed", lastStateChange: 0 }),
      billing: details({
        service: "Billing",
        state: "open",
        failureCount: 5,
        lastFailure: 12_000,
        lastStateChange: 12_000,
        nextProbeIn: "12 seconds"
      })
    }, at(72_000)))
    const billing = cardOf(html, "billing").body
    expect(fieldOf(billing, "failure-count")).toBe("5")
    expect(fieldOf(billing, "last-failure")).toBe("2025-11-15 10:30:57 UTC (1 min ago)")
    expect(fieldOf(billing, "last-state-change")).toBe("2025-11-15 10:30:57 UTC (1 min ago)")
    expect(billing).toContain(`<time datetime="2025-11-15T10:30:57.000Z">`)
    const chroma = cardOf(html, "chroma").body
    expect(fieldOf(chroma, "failure-count")).toBe("0")
    expect(fieldOf(chroma, "last-failure")).toBe("never")
    expect(fieldOf(chroma, "last-state-change")).toBe("2025-11-15 10:30:45 UTC (1 min 12 s ago)")
  })

  it("shows the time until the next probe only while the breaker is open", () => {
    const html = StatusApi.renderPage(snapshotOf({
      open: details({ service: "Open", state: "open", nextProbeIn: "42 seconds" }),
      longer: details({ service: "Longer", state: "open", nextProbeIn: Duration.millis(125_400) }),
      due: details({ service: "Due", state: "open", nextProbeIn: Duration.zero }),
      isolated: details({ service: "Isolated", state: "open", nextProbeIn: Duration.infinity }),
      // a probe time with a state that is not open (an inconsistent snapshot) is not shown
      halfOpen: details({ service: "Half open", state: "half_open", nextProbeIn: "3 seconds" }),
      closed: details({ service: "Closed", state: "closed" })
    }))
    expect(fieldOf(cardOf(html, "open").body, "next-probe")).toBe("in 42 s")
    expect(fieldOf(cardOf(html, "longer").body, "next-probe")).toBe("in 2 min 5 s")
    expect(fieldOf(cardOf(html, "due").body, "next-probe")).toBe("due now")
    expect(fieldOf(cardOf(html, "isolated").body, "next-probe")).toBe("none until reset (isolated)")
    expect(fieldOf(cardOf(html, "halfOpen").body, "next-probe")).toBeUndefined()
    expect(fieldOf(cardOf(html, "closed").body, "next-probe")).toBeUndefined()
    expect(html.match(/data-field="next-probe"/g)).toHaveLength(4)
  })

  it("lists the recent transitions of every service, newest first", () => {
    const html = StatusApi.renderPage(snapshotOf({
      billing: details({
        service: "Billing",
        state: "closed",
        recentTransitions: [
          change("Billing", "closed", "open", 1_000),
          change("Billing", "open", "half_open", 31_000),
          change("Billing", "half_open", "closed", 31_000)
        ]
      }),
      auth: details({
        service: "Auth",
        state: "open",
        nextProbeIn: "10 seconds",
        recentTransitions: [change("Auth", "closed", "open", 20_000)]
      })
    }))
    expect(transitionsOf(html)).toEqual([
      // same timestamp: the later published first
      "billing half_open→closed",
      "billing open→half_open",
      "auth closed→open",
      "billing closed→open"
    ])
    expect(html).toContain(
      `<li data-service-id="auth" data-from="closed" data-to="open"><time datetime="2025-11-15T10:31:05.000Z">`
    )
  })

  it("an empty registry renders a page that says so; the page refreshes itself", () => {
    const html = StatusApi.renderPage(snapshotOf({}))
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain("No service is registered.")
    expect(html).toContain("No transition since the services were registered.")
    expect(html).toContain(`<meta http-equiv="refresh" content="5">`)
    expect(StatusApi.renderPage(snapshotOf({}), { refreshInterval: "1500 millis" })).toContain(
      `<meta http-equiv="refresh" content="2">`
    )
    // nothing is loaded from elsewhere
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`)
    expect(html).not.toMatch(/<(script|link|img|iframe)\b|src=|href=/)
  })
})

describe("ServiceRegistry details and snapshot", () => {
  it.effect("a breaker's transitions are kept from its registration, and its next probe while open", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const breaker = yield* CircuitBreaker.make({ name: "Git", failureThreshold: 1, recoveryTimeout: "60 seconds" })
      yield* registry.register("git", breaker.status, breaker)

      const fresh = yield* registry.snapshot
      expect(fresh.takenAt).toEqual(at(0))
      expect(fresh.services["git"]!.status.state).toBe("closed")
      expect(Option.isNone(fresh.services["git"]!.nextProbeIn)).toBe(true)
      expect(fresh.services["git"]!.recentTransitions).toEqual([])

      yield* TestClock.adjust("2 seconds")
      yield* Effect.flip(breaker(Effect.fail("push failed")))
      yield* TestClock.adjust("15 seconds")
      yield* Effect.yieldNow
      const open = Option.getOrThrow(yield* registry.details("git"))
      expect(open.status.state).toBe("open")
      expect(open.nextProbeIn).toEqual(Option.some(Duration.seconds(45)))
      expect(open.recentTransitions).toEqual([{ service: "Git", from: "closed", to: "open", at: at(2_000) }])

      // the recovery timeout passes without any call: half_open, no probe time
      yield* TestClock.adjust("45 seconds")
      yield* Effect.yieldNow
      const halfOpen = Option.getOrThrow(yield* registry.details("git"))
      expect(halfOpen.status.state).toBe("half_open")
      expect(Option.isNone(halfOpen.nextProbeIn)).toBe(true)
      expect(halfOpen.recentTransitions.map((c) => [c.from, c.to, c.at])).toEqual([
        ["closed", "open", at(2_000)],
        ["open", "half_open", at(62_000)]
      ])

      // isolated: open with no probe until reset
      yield* breaker.isolate
      yield* Effect.yieldNow
      const isolated = Option.getOrThrow(yield* registry.details("git"))
      expect(isolated.status.state).toBe("open")
      expect(isolated.nextProbeIn).toEqual(Option.some(Duration.infinity))
      expect(isolated.recentTransitions.at(-1)).toMatchObject({ from: "half_open", to: "open" })

      expect(Option.isNone(yield* registry.details("nope"))).toBe(true)
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.effect("only the last 20 transitions are kept, oldest first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const breaker = yield* CircuitBreaker.make({ name: "Flaky", failureThreshold: 1 })
      yield* registry.register("flaky", breaker.status, breaker)
      // 13 openings and 13 resets: 26 transitions, one second apart
      for (let i = 0; i < 13; i++) {
        yield* Effect.flip(breaker(Effect.fail("down")))
        yield* TestClock.adjust("1 second")
        yield* breaker.reset
        yield* TestClock.adjust("1 second")
      }
      yield* Effect.yieldNow
      const kept = Option.getOrThrow(yield* registry.details("flaky")).recentTransitions
      expect(ServiceRegistry.recentTransitionsLimit).toBe(20)
      expect(kept).toHaveLength(20)
      // the first 6 (3 openings, 3 resets) are gone
      expect(kept[0]).toEqual({ service: "Flaky", from: "closed", to: "open", at: at(6_000) })
      expect(kept.at(-1)).toEqual({ service: "Flaky", from: "open", to: "closed", at: at(25_000) })
      expect(kept.map((c) => c.at.getTime())).toEqual([...kept.map((c) => c.at.getTime())].sort((a, b) => a - b))
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.effect("an entry registered without a breaker has no probe time and no transitions", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const breaker = yield* CircuitBreaker.make({ name: "Git", failureThreshold: 1 })
      yield* registry.register("git", breaker.status)
      yield* Effect.flip(breaker(Effect.fail("push failed")))
      yield* Effect.yieldNow
      const snapshot = yield* registry.snapshot
      expect(snapshot.services["git"]!.status.state).toBe("open")
      expect(Option.isNone(snapshot.services["git"]!.nextProbeIn)).toBe(true)
      expect(snapshot.services["git"]!.recentTransitions).toEqual([])
    }).pipe(Effect.provide(ServiceRegistry.layer)))

  it.effect("the snapshot lists entries in registration order, and forgets an entry when its scope closes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const registry = yield* ServiceRegistry.ServiceRegistry
      const a = yield* CircuitBreaker.make({ name: "A", failureThreshold: 1 })
      const b = yield* CircuitBreaker.make({ name: "B", failureThreshold: 1 })
      yield* registry.register("a", a.status, a)
      const scope = yield* Scope.make()
      // registered where interruption is off (as in a resource's acquisition): the scope still closes
      yield* Scope.provide(Effect.uninterruptible(registry.register("b", b.status, b)), scope)
      // a duplicate id fails and leaves the live entry as it was
      const duplicate = yield* Effect.flip(registry.register("b", a.status, a))
      expect(pathOf(duplicate)).toEqual(["id"])
      expect(Object.keys((yield* registry.snapshot).services)).toEqual(["a", "b"])

      yield* Scope.close(scope, Exit.void)
      expect(Object.keys((yield* registry.snapshot).services)).toEqual(["a"])

      // registered again: only the transitions since the new registration
      yield* Effect.flip(b(Effect.fail("down")))
      yield* registry.register("b", b.status, b)
      yield* b.reset
      yield* Effect.yieldNow
      expect(Option.getOrThrow(yield* registry.details("b")).recentTransitions.map((c) => c.to)).toEqual(["closed"])
    }).pipe(Effect.provide(ServiceRegistry.layer)))
})

describe("StatusApi.renderPage is the core's page, byte for byte", () => {
  it("the same HTML as core's render of the same data in milliseconds (what the Effect 3 edition renders)", () => {
    const snapshot = snapshotOf({
      billing: details({
        service: "Billing",
        state: "open",
        failureCount: 5,
        lastFailure: 12_000,
        lastStateChange: 12_000,
        nextProbeIn: "12 seconds",
        recentTransitions: [change("Billing", "closed", "open", 12_000)]
      }),
      auth: details({ service: "Auth <&>", state: "half_open", failureCount: 2, lastFailure: 3_000 }),
      isolated: details({ service: "Isolated", state: "open", nextProbeIn: Duration.infinity })
    }, at(72_000))
    const plain: Core.PageSnapshot = {
      takenAt: T0 + 72_000,
      services: {
        billing: {
          status: {
            service: "Billing",
            state: "open",
            failureCount: 5,
            lastFailure: T0 + 12_000,
            lastStateChange: T0 + 12_000
          },
          nextProbeInMillis: 12_000,
          recentTransitions: [{ service: "Billing", from: "closed", to: "open", at: T0 + 12_000 }]
        },
        auth: {
          status: {
            service: "Auth <&>",
            state: "half_open",
            failureCount: 2,
            lastFailure: T0 + 3_000,
            lastStateChange: T0
          },
          nextProbeInMillis: undefined,
          recentTransitions: []
        },
        isolated: {
          status: { service: "Isolated", state: "open", failureCount: 0, lastFailure: undefined, lastStateChange: T0 },
          nextProbeInMillis: Infinity,
          recentTransitions: []
        }
      }
    }
    expect(StatusApi.renderPage(snapshot)).toBe(Core.render(plain, { refreshIntervalMillis: 5_000 }))
    expect(StatusApi.renderPage(snapshot, { refreshInterval: "1 minute" })).toBe(
      Core.render(plain, { refreshIntervalMillis: 60_000 })
    )
  })
})

/** Two breakers: "chroma" closed, "billing" opened at T0 + 5 s. */
const twoBreakers = Effect.gen(function*() {
  yield* TestClock.setTime(T0)
  const registry = yield* ServiceRegistry.ServiceRegistry
  const chroma = yield* CircuitBreaker.make({ name: "Chroma Server" })
  const billing = yield* CircuitBreaker.make({ name: "Billing", failureThreshold: 1 })
  yield* registry.register("chroma", chroma.status, chroma)
  yield* registry.register("billing", billing.status, billing)
  yield* TestClock.adjust("5 seconds")
  yield* Effect.flip(billing(Effect.fail("503")))
  yield* TestClock.adjust("20 seconds")
  yield* Effect.yieldNow
})

const expectBillingOpen = (html: string) => {
  expect(cardOf(html, "chroma").state).toBe("closed")
  const billing = cardOf(html, "billing")
  expect(billing.state).toBe("open")
  expect(fieldOf(billing.body, "next-probe")).toBe("in 40 s")
  expect(transitionsOf(html)).toEqual(["billing closed→open"])
}

describe("GET /v1/api/status (served by NodeHttpServer on 127.0.0.1)", () => {
  for (
    const [name, app] of [["StatusApi.page", StatusApi.page], [
      "StatusApi.routerWithPage",
      StatusApi.routerWithPage
    ]] as const
  ) {
    it.effect(`${name} serves the page as HTML, not cached`, () =>
      Effect.gen(function*() {
        yield* serve(app)
        yield* twoBreakers
        const response = yield* getText("/v1/api/status")
        expect(response.status).toBe(200)
        expect(response.headers["content-type"]).toBe("text/html; charset=utf-8")
        expect(response.headers["cache-control"]).toBe("no-store")
        expect(response.headers["x-content-type-options"]).toBe("nosniff")
        expectBillingOpen(response.body)
        // the page of the registry's snapshot as it is now: the same bytes
        const registry = yield* ServiceRegistry.ServiceRegistry
        expect(response.body).toBe(StatusApi.renderPage(yield* registry.snapshot))
      }).pipe(Effect.provide(TestLive)))
  }

  it.effect("StatusApi.page has only the page; StatusApi.routerWithPage keeps the JSON endpoints beside it", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.page)
      expect((yield* getText("/v1/api/status/services")).status).toBe(404)
    }).pipe(Effect.provide(TestLive)))

  it.effect("StatusApi.routerWithPage answers the JSON endpoints too", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.routerWithPage)
      yield* twoBreakers
      const listing = yield* getText("/v1/api/status/services")
      expect(listing.status).toBe(200)
      expect(Object.keys(JSON.parse(listing.body))).toEqual(["chroma", "billing"])
    }).pipe(Effect.provide(TestLive)))

  it.effect("StatusApi.router leaves GET /v1/api/status to the application's own route", () =>
    Effect.gen(function*() {
      yield* serve(Layer.mergeAll(
        HttpRouter.add("GET", "/v1/api/status", HttpServerResponse.text("the application's own status")),
        StatusApi.router
      ))
      yield* twoBreakers
      const own = yield* getText("/v1/api/status")
      expect(own.status).toBe(200)
      expect(own.body).toBe("the application's own status")
      expect((yield* getText("/v1/api/status/services")).status).toBe(200)
    }).pipe(Effect.provide(TestLive)))

  it.effect("StatusApi.router alone does not serve the page", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.router)
      expect((yield* getText("/v1/api/status")).status).toBe(404)
    }).pipe(Effect.provide(TestLive)))

  it.effect("the page under a prefix, alone: StatusApi.page.pipe(StatusApi.prefixed(\"/admin\"))", () =>
    Effect.gen(function*() {
      yield* serve(StatusApi.page.pipe(StatusApi.prefixed("/admin")))
      yield* twoBreakers
      const response = yield* getText("/admin/v1/api/status")
      expect(response.status).toBe(200)
      expectBillingOpen(response.body)
      expect((yield* getText("/v1/api/status")).status).toBe(404)
      expect((yield* getText("/admin/v1/api/status/services")).status).toBe(404)
    }).pipe(Effect.provide(TestLive)))

  it.effect("the HttpApi group serves the same page, documented as text/html", () =>
    Effect.gen(function*() {
      yield* serve(HttpApiBuilder.layer(StatusApi.api).pipe(Layer.provide(StatusApi.handlers(StatusApi.api))))
      yield* twoBreakers
      const response = yield* getText("/v1/api/status")
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(response.headers["cache-control"]).toBe("no-store")
      expectBillingOpen(response.body)
      expect((yield* getText("/v1/api/status/services")).status).toBe(200)

      const spec = OpenApi.fromApi(StatusApi.api)
      const page = spec.paths["/v1/api/status"]!.get!
      expect(Object.keys(page.responses["200"]!.content!)).toEqual(["text/html"])
    }).pipe(Effect.provide(TestLive)))
})
