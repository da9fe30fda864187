// docs/retry.md, example 7 (kept in sync by test/docs.test.ts)
import { Effect, Random } from "effect"
import type { ResilientServiceClient } from "../../src/index.js"

declare const client: ResilientServiceClient.ResilientServiceClient // made with maxAttempts: 4, jitter: "full"

// waits 0.5 × 1 s, 0.25 × 2 s, 0.75 × 4 s: attempts at +0, +0.5 s, +1 s, +4 s
const call = client.get("/query").pipe(Effect.withRandom(Random.fixed([0.5, 0.25, 0.75])))
