/**
 * The status page of the core, from plain data: what each edition's page shows once it has
 * converted its registry snapshot (the editions' StatusPage tests check the page they serve).
 */
import { describe, expect, it } from "vitest"
import * as Page from "../src/statusPage.js"

const takenAt = Date.UTC(2026, 0, 2, 3, 4, 5)

const snapshot: Page.PageSnapshot = {
  takenAt,
  services: {
    "<billing>": {
      status: {
        service: "billing & co",
        state: "open",
        failureCount: 5,
        lastFailure: takenAt - 3_000,
        lastStateChange: takenAt - 3_000
      },
      nextProbeInMillis: Infinity,
      recentTransitions: [{ service: "billing & co", from: "closed", to: "open", at: takenAt - 3_000 }]
    },
    search: {
      status: { service: "search", state: "closed", failureCount: 0, lastFailure: undefined, lastStateChange: takenAt },
      nextProbeInMillis: undefined,
      recentTransitions: []
    }
  }
}

describe("status page from plain data", () => {
  const html = Page.render(snapshot, { refreshIntervalMillis: 1_500 })

  it("summarises the states, rounds the refresh up to whole seconds and dates the page", () => {
    expect(html).toContain("2 services: 1 open, 0 half open, 1 closed")
    expect(html).toContain(`<meta http-equiv="refresh" content="2">`)
    expect(html).toContain(`<time datetime="2026-01-02T03:04:05.000Z">2026-01-02 03:04:05 UTC</time>`)
  })

  it("shows each service escaped, with its failures, its last failure and its next probe", () => {
    expect(html).toContain(`data-service-id="&lt;billing&gt;" data-state="open"`)
    expect(html).toContain(`<h2 class="name">billing &amp; co</h2>`)
    expect(html).toContain(`<dd data-field="next-probe">none until reset (isolated)</dd>`)
    expect(html).toContain(`<span class="ago">(3 s ago)</span>`)
    expect(html).toMatch(/data-field="last-failure">never</)
    expect(html).toContain(`data-from="closed" data-to="open"`)
  })

  it("a fleet section says when Redis does not answer, else lists the replicas", () => {
    const unknown = Page.render(snapshot, { fleet: { fleet: "prod", replica: "a", replicas: undefined } })
    expect(unknown).toContain("Redis does not answer")
    const listed = Page.render(snapshot, {
      fleet: {
        fleet: "prod",
        replica: "a",
        replicas: [{ replica: "a", ageMillis: 1_200, services: { search: { state: "half_open" } } }]
      }
    })
    expect(listed).toContain(`<tr data-replica="a"><td>a (this one)</td><td>1 s ago</td>`)
    expect(listed).toContain(`<span class="state" data-state="half_open">half open</span>`)
  })

  it("escapes the five HTML characters", () => {
    expect(Page.escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
  })
})
