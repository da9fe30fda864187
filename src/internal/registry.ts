import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as ServiceRegistry from "../ServiceRegistry.js"
import type { ServiceStatus } from "../ServiceStatus.js"

/** @internal */
export const make = (): ServiceRegistry.Registry => {
  // insertion-ordered; entries are added and removed only through acquireRelease below
  const entries = new Map<string, Effect.Effect<ServiceStatus>>()
  return {
    register: (id, status) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          if (entries.has(id)) {
            return Effect.fail(
              ConfigError.InvalidData(["id"], `"${id}" is already registered by another live client or breaker`)
            )
          }
          entries.set(id, status)
          return Effect.void
        }),
        () => Effect.sync(() => entries.delete(id))
      ),
    get: (id) =>
      Effect.suspend(() => {
        const status = entries.get(id)
        return status === undefined ? Effect.succeedNone : Effect.map(status, Option.some)
      }),
    statuses: Effect.suspend(() =>
      Effect.map(
        Effect.forEach(Array.from(entries), ([id, status]) => Effect.map(status, (s) => [id, s] as const)),
        (pairs) => Object.fromEntries(pairs)
      )
    )
  }
}
