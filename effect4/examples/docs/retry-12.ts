// docs/retry.md, example 12 (kept in sync by test/editionDocs.test.ts)
import { Effect } from "effect"
import type { ResilientServiceClient } from "../../src/index.js"

declare const billing: ResilientServiceClient.ResilientServiceClient

const report = Effect.map(
  billing.retryBudget,
  ({ maxTokens, retriesAllowed, tokens }) => `${tokens}/${maxTokens} tokens, retries ${retriesAllowed ? "on" : "off"}`
)

export { report }
