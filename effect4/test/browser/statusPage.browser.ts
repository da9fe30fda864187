/**
 * The Effect 4 edition's status page in a real headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core): `StatusApi.routerWithPage` is served by `NodeHttpServer` on 127.0.0.1 (port 0) and
 * lists two resilient clients built on fake upstreams under the TestClock, so their states and
 * timestamps are exact while the browser runs on real time. Nothing waits a fixed time: every
 * wait is a Playwright waiting assertion on the page, which reloads itself.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/testing/TestClock"
import * as http from "node:http"
import type { Page } from "playwright-core"
import { ResilientServiceClient, ServiceRegistry, StatusApi } from "../../src/index.js"
import * as Testing from "../../src/Testing.js"
import { launchBrowser } from "../utils/browser.js"

const T0 = Date.parse("2025-11-15T10:30:45.000Z")

/** How long a waiting assertion may take: two refreshes of the page (every 5 s) and some. */
const refreshWait = 15_000

const ServerLive = NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" })

/** Runs a Playwright step; a failed step fails the test with Playwright's own message. */
const step = <A>(run: () => Promise<A>) => Effect.promise(run)

/** What the page shows: each card (in page order) and the recent transitions as `id from→to`. */
interface PageView {
  readonly cards: ReadonlyArray<{
    readonly id: string | null
    readonly state: string | null
    readonly badgeState: string | null
    readonly colour: string | null
    readonly name: string | null
    readonly failures: string | null
    readonly nextProbe: string | null
  }>
  readonly transitions: ReadonlyArray<string>
}

/** The states the cards must show, in page order, and the transitions, newest first. */
interface Expected {
  readonly states: Readonly<Record<string, string>>
  readonly transitions: ReadonlyArray<string>
}

// The functions below run in the page (Playwright sends their source); the project compiles
// without the DOM library, so the little of it they use is declared here, for this file only.
interface PageElement {
  readonly textContent: string | null
  getAttribute(name: string): string | null
  querySelector(selector: string): PageElement | null
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement> }
declare const getComputedStyle: (element: PageElement) => { readonly backgroundColor: string }

/** Reads what the page shows; `expected` given, only once it shows that (`false` until then). */
function readView(expected: Expected | null): PageView | false {
  const cards = Array.from(document.querySelectorAll("article.service"), (card) => {
    const badge = card.querySelector("header .state")
    return {
      id: card.getAttribute("data-service-id"),
      state: card.getAttribute("data-state"),
      badgeState: badge === null ? null : badge.getAttribute("data-state"),
      colour: badge === null ? null : getComputedStyle(badge).backgroundColor,
      name: card.querySelector("h2")?.textContent ?? null,
      failures: card.querySelector("[data-field=\"failure-count\"]")?.textContent ?? null,
      nextProbe: card.querySelector("[data-field=\"next-probe\"]")?.textContent ?? null
    }
  })
  const transitions = Array.from(
    document.querySelectorAll(".transitions li"),
    (item) =>
      `${item.getAttribute("data-service-id")} ${item.getAttribute("data-from")}→${item.getAttribute("data-to")}`
  )
  const states = Object.fromEntries(cards.map((card) => [card.id, card.state]))
  const shows = expected === null || (
    JSON.stringify(states) === JSON.stringify(expected.states) &&
    JSON.stringify(transitions) === JSON.stringify(expected.transitions)
  )
  return shows ? { cards, transitions } : false
}

/**
 * Waits until the page shows `expected` (through its own refreshes: Playwright re-runs the check
 * in each new document) and returns all it shows then. On timeout, fails with what it shows.
 */
const waitForView = (page: Page, expected: Expected) =>
  step(async () => {
    try {
      const handle = await page.waitForFunction(readView, expected, { timeout: refreshWait, polling: 100 })
      return (await handle.jsonValue()) as PageView
    } catch (error) {
      const shown = await page.evaluate(readView, null).catch(() => "(unreadable)")
      throw new Error(`the page did not show ${JSON.stringify(expected)}; it shows ${JSON.stringify(shown)}`, {
        cause: error
      })
    }
  })

const card = (view: PageView, id: string) => view.cards.find((card) => card.id === id)!

const green = "rgb(26, 127, 55)"
const amber = "rgb(154, 103, 0)"
const red = "rgb(207, 34, 46)"

describe("the status page in headless Chromium", () => {
  it.effect(
    "shows both services, the open one in red, and each transition after the page refreshes itself",
    () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(T0)

        // The registry is given to the server only: the clients are built without it, and listed by hand
        // with their breakers (so the page knows their transitions and next probes).
        const registry = yield* Effect.service(ServiceRegistry.ServiceRegistry).pipe(
          Effect.provide(ServiceRegistry.layer)
        )
        yield* Layer.build(HttpRouter.serve(StatusApi.routerWithPage, { disableLogger: true, disableListenLog: true }))
          .pipe(Effect.provideService(ServiceRegistry.ServiceRegistry, registry))
        const origin = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
        expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

        const chromaUpstream = Testing.fakeUpstream({ "/heartbeat": Testing.json(200, { ok: true }) })
        const billingUpstream = Testing.fakeUpstream({ "*": Testing.json(503, { error: "down" }) })
        const chroma = yield* ResilientServiceClient.make({
          baseUrl: "http://chroma:6003",
          serviceName: "Chroma Server",
          id: "chroma",
          maxAttempts: 1,
          failureThreshold: 1
        }).pipe(Effect.provide(chromaUpstream.layer))
        const billing = yield* ResilientServiceClient.make({
          baseUrl: "http://billing:8080",
          serviceName: "Billing",
          id: "billing",
          maxAttempts: 1,
          failureThreshold: 1,
          recoveryTimeout: "60 seconds"
        }).pipe(Effect.provide(billingUpstream.layer))
        yield* registry.register(chroma.id, chroma.status, chroma.breaker)
        yield* registry.register(billing.id, billing.status, billing.breaker)

        // billing opens at T0 + 5 s; the page is opened at T0 + 25 s
        yield* TestClock.adjust("5 seconds")
        expect((yield* chroma.get("/heartbeat")).status).toBe(200)
        const refused = yield* Effect.flip(billing.get("/invoices"))
        expect(refused._tag === "HttpClientError" && refused.reason._tag).toBe("StatusCodeError")
        yield* TestClock.adjust("20 seconds")

        const browser = yield* launchBrowser
        const page = yield* step(() => browser.newPage())
        const requested: Array<string> = []
        page.on("request", (request) => requested.push(request.url()))
        const response = yield* step(() => page.goto(`${origin}/v1/api/status`))
        expect(response?.status()).toBe(200)

        // both services render; billing is open, in red, with its next probe; chroma closed, in green
        const opened = yield* waitForView(page, {
          states: { chroma: "closed", billing: "open" },
          transitions: ["billing closed→open"]
        })
        expect(card(opened, "billing")).toEqual({
          id: "billing",
          state: "open",
          badgeState: "open",
          colour: red,
          name: "Billing",
          failures: "1",
          nextProbe: "in 40 s"
        })
        expect(card(opened, "chroma")).toEqual({
          id: "chroma",
          state: "closed",
          badgeState: "closed",
          colour: green,
          name: "Chroma Server",
          failures: "0",
          nextProbe: null
        })

        // billing's recovery timeout passes (half_open, without any call), then chroma fails and opens
        yield* TestClock.adjust("60 seconds")
        yield* TestClock.adjust("1 second")
        chromaUpstream.script({ "/heartbeat": Testing.refused })
        const down = yield* Effect.flip(chroma.get("/heartbeat"))
        expect(down._tag === "HttpClientError" && down.reason._tag).toBe("TransportError")
        expect((yield* chroma.status).state).toBe("open")

        const changed = yield* waitForView(page, {
          states: { chroma: "open", billing: "half_open" },
          transitions: ["chroma closed→open", "billing open→half_open", "billing closed→open"]
        })
        expect(card(changed, "chroma")).toMatchObject({ colour: red, badgeState: "open", nextProbe: "in 1 min" })
        expect(card(changed, "billing")).toMatchObject({ colour: amber, badgeState: "half_open", nextProbe: null })

        // billing's probe succeeds: closed again, in green, newest in the list
        billingUpstream.script({ "*": Testing.json(200, []) })
        expect((yield* billing.get("/invoices")).status).toBe(200)
        const recovered = yield* waitForView(page, {
          states: { chroma: "open", billing: "closed" },
          transitions: [
            "billing half_open→closed",
            "chroma closed→open",
            "billing open→half_open",
            "billing closed→open"
          ]
        })
        expect(card(recovered, "billing")).toMatchObject({ colour: green, badgeState: "closed", failures: "0" })

        // the page loaded nothing from anywhere but its own server
        expect(requested.length).toBeGreaterThanOrEqual(3)
        expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([])
      }).pipe(Effect.provide(ServerLive)),
    { timeout: 60_000 }
  )
})
