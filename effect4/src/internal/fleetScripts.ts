/**
 * The fleet's scripts on this edition's Redis connection: the keys, the Lua sources and the
 * decoding of the replies are the core's (`core/src/fleetLua.ts`, shared with the Effect 3
 * edition); this module loads the scripts and runs them as effects.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Answer, Known } from "../../../core/src/fleetLua.js"
import * as Lua from "../../../core/src/fleetLua.js"
import * as Redis from "./redis.js"

export * from "../../../core/src/fleetLua.js"

/** @internal */
export interface Scripts {
  readonly propose: Redis.Script
  readonly acquire: Redis.Script
  readonly release: Redis.Script
  readonly settle: Redis.Script
  readonly read: Redis.Script
  readonly heartbeat: Redis.Script
  readonly replicas: Redis.Script
}

const load = (script: { readonly name: string; readonly source: string }) => Redis.script(script.name, script.source)

/** @internal */
export const scripts: Effect.Effect<Scripts> = Effect.all({
  propose: load(Lua.sources.propose),
  acquire: load(Lua.sources.acquire),
  release: load(Lua.sources.release),
  settle: load(Lua.sources.settle),
  read: load(Lua.sources.read),
  heartbeat: load(Lua.sources.heartbeat),
  replicas: load(Lua.sources.replicas)
})

const malformed = (script: string, reply: Redis.Reply) =>
  new Redis.RedisError({ reason: "Reply", message: Lua.malformedMessage(script, reply) })

const decode = <O extends string>(
  script: string,
  outcomes: ReadonlyArray<O>,
  reply: Redis.Reply
): Effect.Effect<Answer<O>, Redis.RedisError> => {
  const answer = Lua.decodeAnswer(outcomes, reply)
  return answer === undefined ? Effect.fail(malformed(script, reply)) : Effect.succeed(answer)
}

const { channel, expiriesKey, integer, replicasKey, serviceKeys } = Lua

/**
 * The scripts bound to one fleet and one connection. `deadline` is in Redis time (ms since the
 * Unix epoch, as `TIME` gives it), 0 for none: past it, a script answers `late` and changes nothing.
 *
 * @internal
 */
export interface Client {
  readonly propose: (
    service: string,
    replica: string,
    known: Known,
    durationMillis: number,
    quorum: number,
    windowMillis: number,
    deadline: number,
    longestOpeningMillis?: number
  ) => Effect.Effect<Answer<"applied" | "stale" | "pending" | "late">, Redis.RedisError>
  readonly acquire: (
    service: string,
    replica: string,
    known: Known,
    token: string,
    ttlMillis: number,
    deadline: number,
    longestOpeningMillis?: number
  ) => Effect.Effect<Answer<"granted" | "denied" | "stale" | "late">, Redis.RedisError>
  readonly release: (
    service: string,
    token: string,
    longestOpeningMillis?: number
  ) => Effect.Effect<Answer<"released" | "stale">, Redis.RedisError>
  readonly settle: (
    service: string,
    replica: string,
    known: Known,
    token: string,
    outcome: "close" | "open",
    durationMillis: number,
    deadline: number,
    longestOpeningMillis?: number
  ) => Effect.Effect<Answer<"applied" | "rejected" | "late">, Redis.RedisError>
  readonly read: (service: string, longestOpeningMillis?: number) => Effect.Effect<Answer<"read">, Redis.RedisError>
  /** Publishes the replica's statuses; answers Redis's time (ms) when it ran. */
  readonly heartbeat: (replica: string, ttlMillis: number, statuses: string) => Effect.Effect<number, Redis.RedisError>
  readonly replicas: Effect.Effect<
    ReadonlyArray<{ readonly replica: string; readonly ageMillis: number; readonly statuses: string }>,
    Redis.RedisError
  >
}

/** @internal */
export const client = (connection: Redis.Connection, fleet: string): Effect.Effect<Client> =>
  Effect.map(scripts, (s): Client => {
    const changes = channel(fleet)
    const keysOf = (service: string) => {
      const keys = serviceKeys(fleet, service)
      return [keys.state, keys.proposals]
    }
    const run = <O extends string>(
      script: Redis.Script,
      outcomes: ReadonlyArray<O>,
      service: string,
      args: ReadonlyArray<string>
    ) =>
      Effect.flatMap(
        connection.script(script, keysOf(service), args),
        (reply) => decode(script.name, outcomes, reply)
      )
    return {
      propose: (service, replica, known, duration, quorum, window, deadline, longest = 0) =>
        run(s.propose, ["applied", "stale", "pending", "late"] as const, service, [
          integer(deadline),
          replica,
          String(known.epoch),
          String(known.generation),
          integer(duration),
          String(quorum),
          integer(window),
          changes,
          service,
          integer(longest)
        ]),
      acquire: (service, replica, known, token, ttl, deadline, longest = 0) =>
        run(s.acquire, ["granted", "denied", "stale", "late"] as const, service, [
          integer(deadline),
          replica,
          String(known.epoch),
          String(known.generation),
          token,
          integer(ttl),
          integer(longest)
        ]),
      release: (service, token, longest = 0) =>
        run(s.release, ["released", "stale"] as const, service, ["0", token, integer(longest)]),
      settle: (service, replica, known, token, outcome, duration, deadline, longest = 0) =>
        run(s.settle, ["applied", "rejected", "late"] as const, service, [
          integer(deadline),
          replica,
          String(known.epoch),
          String(known.generation),
          token,
          outcome,
          integer(duration),
          changes,
          service,
          integer(longest)
        ]),
      read: (service, longest = 0) => run(s.read, ["read"] as const, service, ["0", integer(longest)]),
      heartbeat: (replica, ttl, statuses) =>
        Effect.flatMap(
          connection.script(s.heartbeat, [replicasKey(fleet), expiriesKey(fleet)], [replica, integer(ttl), statuses]),
          (reply) =>
            typeof reply === "number" ? Effect.succeed(reply) : Effect.fail(malformed("fleet-heartbeat", reply))
        ),
      replicas: Effect.flatMap(connection.script(s.replicas, [replicasKey(fleet)], []), (reply) => {
        const replicas = Lua.decodeReplicas(reply)
        return replicas === undefined ? Effect.fail(malformed("fleet-replicas", reply)) : Effect.succeed(replicas)
      })
    }
  })
