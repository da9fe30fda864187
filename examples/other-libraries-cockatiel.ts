// docs/coming-from-opossum-or-cockatiel.md: a cockatiel wrap(retry, breaker, timeout), as a client
import { NodeHttpClient } from "@effect/platform-node"
import { Effect } from "effect"
import { ResilientServiceClient } from "../src/index.js"

// cockatiel:
//   wrap(
//     retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
//     circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
//     timeout(5_000, TimeoutStrategy.Aggressive)
//   ).execute(({ signal }) => fetch("http://billing:8080/invoices", { signal }))
export const invoices = Effect.gen(function*() {
  const billing = yield* ResilientServiceClient.make({
    baseUrl: "http://billing:8080",
    maxAttempts: 3, // 2 retries after the first attempt
    retry: { backoff: "128 millis", jitter: "decorrelated", maxDelay: "30 seconds" },
    failureThreshold: 5,
    recoveryTimeout: "10 seconds",
    timeout: "5 seconds"
  })
  const response = yield* billing.get("/invoices")
  return yield* response.json
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))
