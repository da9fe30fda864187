import { afterAll, beforeAll, describe, it } from "vitest"
import { type RedisServer, redisServerPath, startRedis } from "./redisServer.js"
import { missingReason } from "./skippedFleetSuites.js"

// the reporter that sums the skipped suites up in one line finds them by this reason
export { missingReason }

/**
 * `describe` for tests that need a real `redis-server`: skipped with the reason when it is
 * missing on a developer's machine, a failing test under CI.
 */
export const describeWithRedis = (name: string, body: () => void): void => {
  if (redisServerPath !== undefined) {
    describe(name, body)
    return
  }
  if (process.env["CI"] !== undefined && process.env["CI"] !== "") {
    describe(name, () => {
      it("has a redis-server to run against", () => {
        throw new Error("redis-server is required under CI but was not found on PATH")
      })
    })
    return
  }
  describe.skip(`${name} (${missingReason})`, body)
}

/**
 * {@link describeWithRedis} with one private `redis-server` for the whole block: started before
 * its first test, stopped after its last; `body` reads it through `server()`.
 */
export const describeWithRedisServer = (name: string, body: (server: () => RedisServer) => void): void =>
  describeWithRedis(name, () => {
    let server: RedisServer | undefined
    beforeAll(async () => {
      server = await startRedis()
    })
    afterAll(async () => {
      await server?.stop()
    })
    body(() => server!)
  })
