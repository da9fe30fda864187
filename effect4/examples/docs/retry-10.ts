// docs/retry.md, example 10 (kept in sync by test/editionDocs.test.ts)
import { Effect, Random } from "effect"
import type { ResilientServiceClient } from "../../src/index.js"

declare const client: ResilientServiceClient.ResilientServiceClient // made with maxAttempts: 4, jitter: "full"

// draws 0.5, 0.25, 0.75 in turn
const draws = [0.5, 0.25, 0.75]
let drawn = 0
const fixed: Random.Random = { nextDoubleUnsafe: () => draws[drawn++ % draws.length]!, nextIntUnsafe: () => 0 }

// waits 0.5 × 1 s, 0.25 × 2 s, 0.75 × 4 s: attempts at +0, +0.5 s, +1 s, +4 s
const call = client.get("/query").pipe(Effect.provideService(Random.Random, fixed))

export { call }
