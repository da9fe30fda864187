// docs/circuit-breaker.md, keyed circuits (kept in sync by test/docs.test.ts)
import { Effect } from "effect"
import { KeyedCircuitBreaker, ServiceRegistry } from "../../src/index.js"

declare const fetchInvoices: (tenant: string) => Effect.Effect<ReadonlyArray<string>, Error>

const program = Effect.gen(function*() {
  // one breaker per tenant: a tenant whose shard is down is refused, the others are served
  const tenants = yield* KeyedCircuitBreaker.make({
    name: "invoices",
    failureThreshold: 5,
    idleTimeToLive: "30 minutes",
    maxKeys: 5000
  })
  // each tenant is listed in the status endpoint and page as "invoices/<tenant>"
  yield* tenants.register()
  const forAcme = yield* tenants.call("acme", fetchInvoices("acme"))
  const listed = yield* tenants.statuses // [{ key: "acme", status: { state: "closed", ... } }]
  return { forAcme, listed }
}).pipe(Effect.scoped, Effect.provide(ServiceRegistry.layer))

export { program }
