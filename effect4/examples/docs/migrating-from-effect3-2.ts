// docs/migrating-from-effect3.md, example 2 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { ResilientServiceClient } from "../../src/index.js"

declare const getInvoice: Effect.Effect<string, ResilientServiceClient.ClientError>

// Effect 3 edition:
//   Effect.catchTags({ ResponseError: (e) => e.reason === "StatusCode" && e.response.status === 404 ? … : …,
//                      RequestError: …, TimeoutException: …, ServiceUnavailable: … })
export const invoiceOrNone = getInvoice.pipe(
  // a 404 is an answer: no invoice
  Effect.catchReason(
    "HttpClientError",
    "StatusCodeError",
    (reason, error) => reason.response.status === 404 ? Effect.succeed("none") : Effect.fail(error)
  ),
  Effect.catchTags({
    ServiceUnavailable: () => Effect.succeed("billing is down"),
    HttpClientError: () => Effect.succeed("billing did not answer"),
    TimeoutError: () => Effect.succeed("billing timed out")
  })
)
