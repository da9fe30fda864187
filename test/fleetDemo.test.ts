/**
 * `npm run demo -- --fleet` as a user runs it (shortest timings): three forked replica processes,
 * a private redis-server, one embedded upstream. It must exit 0 by itself, show the fleet
 * following replica 1 and closing again, and let fewer requests reach the dead upstream than
 * independent breakers do.
 */
import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { expectInOrder, runDemo } from "./utils/demo.js"
import { describeWithRedis } from "./utils/redisSuite.js"

describeWithRedis("npm run demo -- --fleet", () => {
  it.live(
    "runs the fleet and the independent replicas, exits 0, and the fleet lets fewer requests through",
    () =>
      Effect.gen(function*() {
        const { code, stderr, stdout } = yield* runDemo("--fleet", "--quick")
        expect(stderr).toBe("")
        expect(code).toBe(0)
        const order = [
          "fleet: 3 replicas",
          "upstream down",
          "replica-1 open",
          "after the first",
          "every replica closed again",
          "independent: 3 replicas",
          "every replica closed again"
        ]
        expectInOrder(stdout, order)
        const totals = /fleet (\d+), independent breakers (\d+)/.exec(stdout)
        expect(totals).not.toBeNull()
        expect(Number(totals![1])).toBeLessThan(Number(totals![2]))
      }),
    90_000
  )
})
