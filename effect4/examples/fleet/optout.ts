// docs/fleet.md, the optout example (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import { CircuitBreaker, Fleet } from "../../src/index.js"

export const breakers = Effect.gen(function*() {
  // joins the fleet in context: shares its openings and its probe with the other replicas
  const billing = yield* CircuitBreaker.make({ name: "billing" })
  // stays local: this replica's own cache, whose health says nothing about the others'
  const cache = yield* Fleet.optOut(CircuitBreaker.make({ name: "local-cache" }))
  return { billing, cache }
})
