/**
 * The fleet's shared state in Redis and the Lua scripts that change it. Each script is one atomic
 * step guarded by the service's generation (incremented on every fleet-wide transition), reads
 * the time from Redis (`TIME`) and answers with durations that remain, never with instants, so
 * the clocks of the replicas never meet. A state carries its epoch (Redis's time when it was first
 * written): after a `FLUSHALL`, an eviction or an expiry, the generations start again in a new,
 * greater epoch, so `(epoch, generation)` orders every state a replica can see.
 *
 * Keys of one service share the hash tag `{<fleet>:<service>}` (names URI-encoded, so a brace in
 * a name cannot move the tag), which keeps every script on one slot of a Redis Cluster:
 * - `fleet:{F:S}:state`: hash `epoch`, `gen`, `state` (`closed` | `open`), `until` and `since`
 *   (Redis ms: the opening's end and start), `by`, `lease_token`, `lease_until`, `lease_holder`. `half_open` is not stored: it is an
 *   `open` state whose `until` has passed. Expires a day after its last use.
 * - `fleet:{F:S}:proposals`: sorted set of replicas proposing an opening (quorum), by time.
 * - `fleet:{F}:replicas`: hash replica → `<until>:<sent>:<statuses JSON>` (the heartbeats), and
 *   `fleet:{F}:replicas:expiries`: sorted set replica → `<until>`.
 * - channel `fleet:{F}:changes`: JSON `{ service, epoch, gen, state, remaining, by }` on every
 *   fleet-wide opening or closing.
 *
 * This module holds the pure part, shared by both editions: the keys, the Lua sources and the
 * decoding of the scripts' replies. Each edition runs the scripts on its own Redis connection.
 *
 * @internal
 */
import type * as Protocol from "./fleetProtocol.js"

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

/** The replicas' heartbeat expiries: beside the replicas' hash, in its slot. @internal */
export const expiriesKey = (fleet: string): string => `${replicasKey(fleet)}:expiries`

/**
 * How long a service's state outlives its last use (a read, a write) beyond the end of its
 * opening: a service that no replica follows any more leaves nothing behind for long.
 *
 * @internal
 */
export const retentionMillis = 24 * 60 * 60 * 1000

// Shared head of the service scripts: the time, the stored state and the view to answer with.
// ARGV[1] of every service script is its deadline in Redis time (ms; 0 for none): a command that
// runs after it (written before a stall, a pause, a failover) answers `late` and changes nothing.
const head = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(ARGV[1]) or 0
local s = redis.call('HMGET', KEYS[1], 'gen', 'state', 'until', 'by', 'lease_token', 'lease_until', 'epoch',
  'since')
local gen = tonumber(s[1] or '0') or 0
local state = s[2] or 'closed'
local untilAt = tonumber(s[3] or '0') or 0
local by = s[4] or ''
local leaseToken = s[5] or ''
local leaseUntil = tonumber(s[6] or '0') or 0
local epoch = tonumber(s[7] or '0') or 0
local since = tonumber(s[8] or '0') or 0
-- the longest opening of the replica asking (ms; 0: none): an opening that has run that long has
-- ended for it, so that one replica's long opening (or a forged one) cannot hold it open longer
local horizon = 0
local function ends()
  if horizon > 0 and since > 0 and since + horizon < untilAt then return since + horizon end
  return untilAt
end
local function effective()
  if state == 'open' and now >= ends() then return 'half_open' end
  return state
end
local function keep()
  local left = 0
  if state == 'open' and untilAt > now then left = untilAt - now end
  redis.call('PEXPIRE', KEYS[1], left + ${retentionMillis})
end
local function view(outcome, extra)
  local eff = effective()
  local remaining = 0
  if eff == 'open' then remaining = ends() - now end
  local lease = 0
  if eff == 'half_open' and leaseToken ~= '' and leaseUntil > now then lease = leaseUntil - now end
  return {outcome, epoch, gen, eff, remaining, lease, by, extra or 0}
end
local function late()
  return deadline > 0 and now > deadline
end
local function known(knownEpoch, knownGen)
  return knownEpoch == epoch and knownGen == gen
end
local function transition(to, duration, replica, channel, service)
  -- a state that Redis does not hold (never written, flushed, evicted, expired) starts a new epoch
  if epoch == 0 then epoch = now end
  gen = gen + 1
  state = to
  by = replica
  if to == 'open' then
    untilAt = now + duration
    since = now
  else
    untilAt = 0
    since = 0
  end
  leaseToken = ''
  leaseUntil = 0
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'gen', gen, 'state', state, 'until', untilAt, 'since', since,
    'by', by, 'lease_token', '', 'lease_until', 0, 'lease_holder', '')
  keep()
  redis.call('DEL', KEYS[2])
  redis.call('PUBLISH', channel, cjson.encode({service = service, epoch = epoch, gen = gen, state = to,
    remaining = duration, by = replica}))
end
`.replace("${retentionMillis}", String(retentionMillis))

/**
 * Proposes an opening. KEYS: state, proposals. ARGV: deadline, replica, known epoch, known
 * generation, duration (ms), quorum, quorum window (ms), channel, service, the replica's longest
 * opening (ms). Applied only if the
 * fleet is `closed` in the epoch and generation the proposer knows (an opening counted in a
 * closed period that has since ended is dropped) and, with a quorum above 1, once that many
 * distinct replicas proposed within the window.
 */
export const proposeSource = head + `
horizon = tonumber(ARGV[10]) or 0
if late() then return view('late') end
local replica, duration = ARGV[2], tonumber(ARGV[5])
local quorum, window = tonumber(ARGV[6]), tonumber(ARGV[7])
if not known(tonumber(ARGV[3]), tonumber(ARGV[4])) or effective() ~= 'closed' then return view('stale') end
if quorum > 1 then
  redis.call('ZADD', KEYS[2], now, replica)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[2], window)
  local count = redis.call('ZCARD', KEYS[2])
  if count < quorum then return view('pending', count) end
end
transition('open', duration, replica, ARGV[8], ARGV[9])
return view('applied')
`

/**
 * Asks for the half-open probe lease. KEYS: state. ARGV: deadline, replica, known epoch, known
 * generation, token, TTL (ms), the replica's longest opening (ms). Granted to one replica at a time, for the `half_open` period it
 * knows, and never renewed: each request carries a fresh token, and while a lease runs every
 * request is denied, its holder's included. A lease that expired may be taken by another request.
 */
export const acquireSource = head + `
horizon = tonumber(ARGV[7]) or 0
if late() then return view('late') end
local replica, token, ttl = ARGV[2], ARGV[5], tonumber(ARGV[6])
if not known(tonumber(ARGV[3]), tonumber(ARGV[4])) or effective() ~= 'half_open' then return view('stale') end
if leaseToken ~= '' and leaseUntil > now then return view('denied') end
leaseToken = token
leaseUntil = now + ttl
redis.call('HSET', KEYS[1], 'lease_token', token, 'lease_until', leaseUntil, 'lease_holder', replica)
keep()
return view('granted')
`

/**
 * Gives a lease back unused. KEYS: state. ARGV: deadline, token, the replica's longest opening
 * (ms). Another replica may take it at once.
 */
export const releaseSource = head + `
horizon = tonumber(ARGV[3]) or 0
if leaseToken == '' or leaseToken ~= ARGV[2] then return view('stale') end
leaseToken = ''
leaseUntil = 0
redis.call('HSET', KEYS[1], 'lease_token', '', 'lease_until', 0, 'lease_holder', '')
return view('released')
`

/**
 * Ends a half-open period with the probe's result. KEYS: state, proposals. ARGV: deadline,
 * replica, known epoch, known generation, token, outcome (`close` | `open`), duration (ms) of
 * the new opening, channel, service, the replica's longest opening (ms). Only the holder of a
 * lease that has not expired may do it.
 */
export const settleSource = head + `
horizon = tonumber(ARGV[10]) or 0
if late() then return view('late') end
local replica, token, outcome = ARGV[2], ARGV[5], ARGV[6]
if not known(tonumber(ARGV[3]), tonumber(ARGV[4])) or effective() ~= 'half_open' or leaseToken ~= token or
  leaseUntil <= now then
  return view('rejected')
end
if outcome == 'close' then
  transition('closed', 0, replica, ARGV[8], ARGV[9])
else
  transition('open', tonumber(ARGV[7]), replica, ARGV[8], ARGV[9])
end
return view('applied')
`

/**
 * Reads the view, and keeps the state from expiring while some replica follows it. KEYS: state.
 * ARGV: deadline (unused), the replica's longest opening (ms): a replica sees every view through
 * its own horizon, so that a read never answers `open` for a period its lease request saw ended.
 */
export const readSource = head + `
horizon = tonumber(ARGV[2]) or 0
if gen > 0 then keep() end
return view('read')
`

/**
 * Publishes one replica's statuses until they expire. KEYS: replicas, expiries. ARGV: replica,
 * TTL (ms), statuses (JSON). The expiries are a sorted set (replica by the end of its last
 * heartbeat), so that a heartbeat costs O(log N) plus the entries it drops, whatever the other
 * replicas' statuses weigh; both keys expire once the last replica's heartbeat has.
 */
export const heartbeatSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilAt = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], untilAt .. ':' .. now .. ':' .. ARGV[3])
redis.call('ZADD', KEYS[2], untilAt, ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local lastUntil = tonumber(last[2] or untilAt)
redis.call('PEXPIREAT', KEYS[1], lastUntil + tonumber(ARGV[2]))
redis.call('PEXPIREAT', KEYS[2], lastUntil + tonumber(ARGV[2]))
return now
`

/** Lists the live replicas: replica, ms since its heartbeat, statuses JSON. KEYS: replicas. */
export const replicasSource = `
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

/**
 * The scripts by the names their errors use, with their Lua sources.
 *
 * @internal
 */
export const sources = {
  propose: { name: "fleet-propose", source: proposeSource },
  acquire: { name: "fleet-acquire", source: acquireSource },
  release: { name: "fleet-release", source: releaseSource },
  settle: { name: "fleet-settle", source: settleSource },
  read: { name: "fleet-read", source: readSource },
  heartbeat: { name: "fleet-heartbeat", source: heartbeatSource },
  replicas: { name: "fleet-replicas", source: replicasSource }
} as const

/** @internal */
export interface Answer<O extends string> {
  readonly outcome: O
  readonly view: View
  /** `pending` proposals: how many distinct replicas proposed within the window. */
  readonly count: number
}

/**
 * The message an edition's error carries for a reply it cannot read.
 *
 * @internal
 */
export const malformedMessage = (script: string, reply: unknown): string =>
  `${script}: unexpected reply ${JSON.stringify(reply)}`

const isFleetState = (u: unknown): u is FleetState => u === "closed" || u === "open" || u === "half_open"

/**
 * The answer of a service script (propose, acquire, release, settle, read), or `undefined` when
 * the reply is not one of `outcomes` with a well-formed view.
 *
 * @internal
 */
export const decodeAnswer = <O extends string>(outcomes: ReadonlyArray<O>, reply: unknown): Answer<O> | undefined => {
  if (!Array.isArray(reply) || reply.length < 8) return undefined
  const [outcome, epoch, generation, state, remaining, lease, by, count] = reply as ReadonlyArray<unknown>
  if (
    !outcomes.includes(outcome as O) || typeof epoch !== "number" || typeof generation !== "number" ||
    !isFleetState(state) || typeof remaining !== "number" || typeof lease !== "number" || typeof by !== "string" ||
    typeof count !== "number"
  ) {
    return undefined
  }
  return {
    outcome: outcome as O,
    count,
    view: {
      epoch,
      generation,
      state,
      remainingMillis: Math.max(0, remaining),
      leaseRemainingMillis: Math.max(0, lease),
      by
    }
  }
}

/** A live replica as the replicas script lists it. @internal */
export interface ReplicaEntry {
  readonly replica: string
  readonly ageMillis: number
  readonly statuses: string
}

/** The replicas script's reply, or `undefined` when malformed. @internal */
export const decodeReplicas = (reply: unknown): ReadonlyArray<ReplicaEntry> | undefined => {
  if (!Array.isArray(reply)) return undefined
  const out: Array<ReplicaEntry> = []
  for (const entry of reply as ReadonlyArray<unknown>) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined
    const [replica, age, statuses] = entry as ReadonlyArray<unknown>
    if (typeof replica !== "string" || typeof age !== "number" || typeof statuses !== "string") return undefined
    out.push({ replica, ageMillis: age, statuses })
  }
  return out
}

/** A number of milliseconds as a script argument: a whole number, never negative. @internal */
export const integer = (n: number): string => String(Math.max(0, Math.round(n)))

/**
 * What a replica knows of a service's state in Redis: the life of the state (`epoch`) and the
 * generation in it. @internal
 */
export interface Known {
  readonly epoch: number
  readonly generation: number
}

/**
 * A message of the fleet's channel.
 *
 * @internal
 */
export interface Change {
  readonly service: string
  /** 0 from a replica of a version without epochs. */
  readonly epoch: number
  readonly generation: number
  readonly state: "open" | "closed"
  readonly remainingMillis: number
  readonly by: string
}

/** @internal */
export const decodeChange = (message: string): Change | undefined => {
  try {
    const parsed = JSON.parse(message) as Record<string, unknown>
    const { by, epoch, gen, remaining, service, state } = parsed
    if (
      typeof service !== "string" || typeof gen !== "number" || (state !== "open" && state !== "closed") ||
      typeof remaining !== "number" || !Number.isFinite(remaining) || typeof by !== "string" ||
      (epoch !== undefined && typeof epoch !== "number")
    ) return undefined
    return { service, epoch: epoch ?? 0, generation: gen, state, remainingMillis: Math.max(0, remaining), by }
  } catch {
    return undefined
  }
}
