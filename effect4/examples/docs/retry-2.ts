// docs/retry.md, example 2 (kept in sync by test/editionDocs.test.ts)
import { RetryPolicy } from "../../src/index.js"

// 1 s, 2 s, 4 s, 8 s, 10 s, 10 s, 10 s
const patient = RetryPolicy.schedule({ maxAttempts: 8, maxDelay: "10 seconds" })

export { patient }
