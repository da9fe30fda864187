/**
 * The fleet's shared state in Redis and the Lua scripts that change it. Each script is one atomic
 * step guarded by the service's generation (incremented on every fleet-wide transition), reads
 * the time from Redis (`TIME`) and answers with durations that remain, never with instants, so
 * the clocks of the replicas never meet.
 *
 * Keys of one service share the hash tag `{<fleet>:<service>}` (names URI-encoded, so a brace in
 * a name cannot move the tag), which keeps every script on one slot of a Redis Cluster:
 * - `fleet:{F:S}:state`: hash `gen`, `state` (`closed` | `open`), `until` (Redis ms), `by`,
 *   `lease_token`, `lease_until`, `lease_holder`. `half_open` is not stored: it is an `open`
 *   state whose `until` has passed.
 * - `fleet:{F:S}:proposals`: sorted set of replicas proposing an opening (quorum), by time.
 * - `fleet:{F}:replicas`: hash replica → `<until>:<sent>:<statuses JSON>` (the heartbeats).
 * - channel `fleet:{F}:changes`: JSON `{ service, gen, state, remaining, by }` on every
 *   fleet-wide opening or closing.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Protocol from "./fleetProtocol.js"
import * as Redis from "./redis.js"

/** @internal */
export type FleetState = Protocol.FleetState

/**
 * The fleet's state of one service as Redis saw it when the script ran, and the replica that
 * made the last transition.
 *
 * @internal
 */
export interface View extends Protocol.View {
  readonly by: string
}

/** @internal */
export interface Keys {
  readonly state: string
  readonly proposals: string
}

const encode = (name: string) => encodeURIComponent(name)

/** @internal */
export const serviceKeys = (fleet: string, service: string): Keys => {
  const tag = `{${encode(fleet)}:${encode(service)}}`
  return { state: `fleet:${tag}:state`, proposals: `fleet:${tag}:proposals` }
}

/** @internal */
export const replicasKey = (fleet: string): string => `fleet:{${encode(fleet)}}:replicas`

/** @internal */
export const channel = (fleet: string): string => `fleet:{${encode(fleet)}}:changes`

// Shared head of the service scripts: the time, the stored state and the view to answer with.
const head = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'gen', 'state', 'until', 'by', 'lease_token', 'lease_until')
local gen = tonumber(s[1] or '0') or 0
local state = s[2] or 'closed'
local untilAt = tonumber(s[3] or '0') or 0
local by = s[4] or ''
local leaseToken = s[5] or ''
local leaseUntil = tonumber(s[6] or '0') or 0
local function effective()
  if state == 'open' and now >= untilAt then return 'half_open' end
  return state
end
local function view(outcome, extra)
  local eff = effective()
  local remaining = 0
  if eff == 'open' then remaining = untilAt - now end
  local lease = 0
  if eff == 'half_open' and leaseToken ~= '' and leaseUntil > now then lease = leaseUntil - now end
  return {outcome, gen, eff, remaining, lease, by, extra or 0}
end
local function transition(to, duration, replica, channel, service)
  gen = gen + 1
  state = to
  by = replica
  if to == 'open' then untilAt = now + duration else untilAt = 0 end
  leaseToken = ''
  leaseUntil = 0
  redis.call('HSET', KEYS[1], 'gen', gen, 'state', state, 'until', untilAt, 'by', by,
    'lease_token', '', 'lease_until', 0, 'lease_holder', '')
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', channel, cjson.encode({service = service, gen = gen, state = to,
    remaining = duration, by = replica}))
end
`

/**
 * Proposes an opening. KEYS: state, proposals. ARGV: replica, known generation, duration (ms),
 * quorum, quorum window (ms), channel, service. Applied only if the fleet is `closed` in the
 * generation the proposer knows (an opening counted in a closed period that has since ended is
 * dropped) and, with a quorum above 1, once that many distinct replicas proposed within the window.
 */
const proposeSource = head + `
local replica, known, duration = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local quorum, window = tonumber(ARGV[4]), tonumber(ARGV[5])
if known ~= gen or effective() ~= 'closed' then return view('stale') end
if quorum > 1 then
  redis.call('ZADD', KEYS[2], now, replica)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[2], window)
  local count = redis.call('ZCARD', KEYS[2])
  if count < quorum then return view('pending', count) end
end
transition('open', duration, replica, ARGV[6], ARGV[7])
return view('applied')
`

/**
 * Asks for the half-open probe lease. KEYS: state. ARGV: replica, known generation, token, TTL (ms).
 * Granted to one replica at a time, for the `half_open` period of the generation it knows; a
 * lease that expired may be taken by another replica.
 */
const acquireSource = head + `
local replica, known, token, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if known ~= gen or effective() ~= 'half_open' then return view('stale') end
if leaseToken ~= '' and leaseUntil > now and leaseToken ~= token then return view('denied') end
leaseToken = token
leaseUntil = now + ttl
redis.call('HSET', KEYS[1], 'lease_token', token, 'lease_until', leaseUntil, 'lease_holder', replica)
return view('granted')
`

/**
 * Ends a half-open period with the probe's result. KEYS: state, proposals. ARGV: replica, known
 * generation, token, outcome (`close` | `open`), duration (ms) of the new opening, channel,
 * service. Only the holder of a lease that has not expired may do it.
 */
const settleSource = head + `
local replica, known, token, outcome = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if known ~= gen or effective() ~= 'half_open' or leaseToken ~= token or leaseUntil <= now then
  return view('rejected')
end
if outcome == 'close' then
  transition('closed', 0, replica, ARGV[6], ARGV[7])
else
  transition('open', tonumber(ARGV[5]), replica, ARGV[6], ARGV[7])
end
return view('applied')
`

/** Reads the view. KEYS: state. */
const readSource = head + `
return view('read')
`

/**
 * Publishes one replica's statuses until they expire. KEYS: replicas. ARGV: replica, TTL (ms),
 * statuses (JSON). Drops the entries of replicas whose heartbeats expired.
 */
const heartbeatSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[2])) .. ':' .. now .. ':' .. ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local untilAt = tonumber(string.match(all[i + 1], '^(%d+):'))
  if untilAt == nil or untilAt <= now then redis.call('HDEL', KEYS[1], all[i]) end
end
return now
`

/** Lists the live replicas: replica, ms since its heartbeat, statuses JSON. KEYS: replicas. */
const replicasSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local untilAt, sent, json = string.match(all[i + 1], '^(%d+):(%d+):(.*)$')
  if untilAt ~= nil and tonumber(untilAt) > now then
    table.insert(out, {all[i], now - tonumber(sent), json})
  end
end
return out
`

/** @internal */
export interface Scripts {
  readonly propose: Redis.Script
  readonly acquire: Redis.Script
  readonly settle: Redis.Script
  readonly read: Redis.Script
  readonly heartbeat: Redis.Script
  readonly replicas: Redis.Script
}

/** @internal */
export const scripts: Effect.Effect<Scripts> = Effect.all({
  propose: Redis.script("fleet-propose", proposeSource),
  acquire: Redis.script("fleet-acquire", acquireSource),
  settle: Redis.script("fleet-settle", settleSource),
  read: Redis.script("fleet-read", readSource),
  heartbeat: Redis.script("fleet-heartbeat", heartbeatSource),
  replicas: Redis.script("fleet-replicas", replicasSource)
})

/** @internal */
export interface Answer<O extends string> {
  readonly outcome: O
  readonly view: View
  /** `pending` proposals: how many distinct replicas proposed within the window. */
  readonly count: number
}

const malformed = (script: string, reply: Redis.Reply) =>
  new Redis.RedisError({ reason: "Reply", message: `${script}: unexpected reply ${JSON.stringify(reply)}` })

const isFleetState = (u: unknown): u is FleetState => u === "closed" || u === "open" || u === "half_open"

const decode = <O extends string>(
  script: string,
  outcomes: ReadonlyArray<O>,
  reply: Redis.Reply
): Effect.Effect<Answer<O>, Redis.RedisError> => {
  if (!Array.isArray(reply) || reply.length < 7) return Effect.fail(malformed(script, reply))
  const [outcome, generation, state, remaining, lease, by, count] = reply as ReadonlyArray<Redis.Reply>
  if (
    !outcomes.includes(outcome as O) || typeof generation !== "number" || !isFleetState(state) ||
    typeof remaining !== "number" || typeof lease !== "number" || typeof by !== "string" || typeof count !== "number"
  ) {
    return Effect.fail(malformed(script, reply))
  }
  return Effect.succeed({
    outcome: outcome as O,
    count,
    view: {
      generation,
      state,
      remainingMillis: Math.max(0, remaining),
      leaseRemainingMillis: Math.max(0, lease),
      by
    }
  })
}

/**
 * The scripts bound to one fleet and one connection.
 *
 * @internal
 */
export interface Client {
  readonly propose: (
    service: string,
    replica: string,
    knownGeneration: number,
    durationMillis: number,
    quorum: number,
    windowMillis: number
  ) => Effect.Effect<Answer<"applied" | "stale" | "pending">, Redis.RedisError>
  readonly acquire: (
    service: string,
    replica: string,
    knownGeneration: number,
    token: string,
    ttlMillis: number
  ) => Effect.Effect<Answer<"granted" | "denied" | "stale">, Redis.RedisError>
  readonly settle: (
    service: string,
    replica: string,
    knownGeneration: number,
    token: string,
    outcome: "close" | "open",
    durationMillis: number
  ) => Effect.Effect<Answer<"applied" | "rejected">, Redis.RedisError>
  readonly read: (service: string) => Effect.Effect<Answer<"read">, Redis.RedisError>
  readonly heartbeat: (replica: string, ttlMillis: number, statuses: string) => Effect.Effect<void, Redis.RedisError>
  readonly replicas: Effect.Effect<
    ReadonlyArray<{ readonly replica: string; readonly ageMillis: number; readonly statuses: string }>,
    Redis.RedisError
  >
}

const integer = (n: number) => String(Math.max(0, Math.round(n)))

/** @internal */
export const client = (connection: Redis.Connection, fleet: string): Effect.Effect<Client> =>
  Effect.map(scripts, (s): Client => {
    const changes = channel(fleet)
    const keysOf = (service: string) => {
      const keys = serviceKeys(fleet, service)
      return [keys.state, keys.proposals]
    }
    return {
      propose: (service, replica, known, duration, quorum, window) =>
        Effect.flatMap(
          connection.script(s.propose, keysOf(service), [
            replica,
            String(known),
            integer(duration),
            String(quorum),
            integer(window),
            changes,
            service
          ]),
          (reply) => decode("fleet-propose", ["applied", "stale", "pending"] as const, reply)
        ),
      acquire: (service, replica, known, token, ttl) =>
        Effect.flatMap(
          connection.script(s.acquire, keysOf(service), [replica, String(known), token, integer(ttl)]),
          (reply) => decode("fleet-acquire", ["granted", "denied", "stale"] as const, reply)
        ),
      settle: (service, replica, known, token, outcome, duration) =>
        Effect.flatMap(
          connection.script(s.settle, keysOf(service), [
            replica,
            String(known),
            token,
            outcome,
            integer(duration),
            changes,
            service
          ]),
          (reply) => decode("fleet-settle", ["applied", "rejected"] as const, reply)
        ),
      read: (service) =>
        Effect.flatMap(
          connection.script(s.read, keysOf(service), []),
          (reply) => decode("fleet-read", ["read"] as const, reply)
        ),
      heartbeat: (replica, ttl, statuses) =>
        Effect.asVoid(connection.script(s.heartbeat, [replicasKey(fleet)], [replica, integer(ttl), statuses])),
      replicas: Effect.flatMap(connection.script(s.replicas, [replicasKey(fleet)], []), (reply) => {
        if (!Array.isArray(reply)) return Effect.fail(malformed("fleet-replicas", reply))
        const out: Array<{ replica: string; ageMillis: number; statuses: string }> = []
        for (const entry of reply as ReadonlyArray<Redis.Reply>) {
          if (!Array.isArray(entry) || entry.length !== 3) return Effect.fail(malformed("fleet-replicas", reply))
          const [replica, age, statuses] = entry as ReadonlyArray<Redis.Reply>
          if (typeof replica !== "string" || typeof age !== "number" || typeof statuses !== "string") {
            return Effect.fail(malformed("fleet-replicas", reply))
          }
          out.push({ replica, ageMillis: age, statuses })
        }
        return Effect.succeed(out)
      })
    }
  })

/**
 * A message of the fleet's channel.
 *
 * @internal
 */
export interface Change {
  readonly service: string
  readonly generation: number
  readonly state: "open" | "closed"
  readonly remainingMillis: number
  readonly by: string
}

/** @internal */
export const decodeChange = (message: string): Change | undefined => {
  try {
    const parsed = JSON.parse(message) as Record<string, unknown>
    const { by, gen, remaining, service, state } = parsed
    if (
      typeof service !== "string" || typeof gen !== "number" || (state !== "open" && state !== "closed") ||
      typeof remaining !== "number" || typeof by !== "string"
    ) return undefined
    return { service, generation: gen, state, remainingMillis: remaining, by }
  } catch {
    return undefined
  }
}
