/**
 * The pure helpers of the fleet's effectful shell, shared by both editions: the fleet options'
 * defaults, Redis's clock as the heartbeats measure it (the deadlines of the commands that
 * change the fleet), what remains of a local opening, the lease's idle bound, and the retry
 * budgets' messages. Each edition's `internal/fleet.ts` runs the fibers, queues and Redis
 * commands around them.
 *
 * @internal
 */
import type { Machine } from "./machine.js"

/** The defaults of a fleet layer's options (durations as both editions' `Duration` inputs). @internal */
export const defaults = {
  quorum: 1,
  quorumWindow: "10 seconds",
  leaseTtl: "15 seconds",
  heartbeat: "1 second",
  commandTimeout: "500 millis",
  connectTimeout: "1 second"
} as const

/** How many heartbeats' measures of Redis's clock the deadlines are taken from. @internal */
export const offsetSamples = 8

/**
 * Redis's time minus this process's monotonic time (ms), from the heartbeats' answers: the
 * deadlines of the commands that change the fleet are given in Redis time. Each sample is taken
 * when the answer arrives, so it errs early (by the round trip, and by any delay in handling the
 * answer): a deadline never lets a late command in. The greatest of the last samples is the
 * closest (one taken while the process was busy is not used alone), and the window lets a step
 * of Redis's clock in within a few heartbeats.
 *
 * @internal
 */
export class RedisClock {
  private readonly offsets: Array<number> = []

  /** A heartbeat answered `redisNow` (Redis ms) when the monotonic clock read `localNow` (ms). */
  record(redisNow: number, localNow: number): void {
    this.offsets.push(redisNow - localNow)
    if (this.offsets.length > offsetSamples) this.offsets.shift()
  }

  /**
   * The deadline, in Redis time, of a command sent at `localNow` (monotonic ms) and bounded by
   * `commandTimeoutMillis`: 0 (none) until a heartbeat was answered.
   */
  deadline(localNow: number, commandTimeoutMillis: number): number {
    return this.offsets.length === 0 ? 0 : Math.ceil(localNow + Math.max(...this.offsets) + commandTimeoutMillis)
  }
}

/**
 * What remains of a machine's opening at `nowMillis`, on the machine's own time base: the one
 * place where the fleet turns a local deadline into a duration to share.
 *
 * @internal
 */
export const remainingOf = (machine: Machine<unknown>, nowMillis: number): number =>
  machine.state === "open" ? Math.max(0, Math.min(machine.openUntil, Number.MAX_SAFE_INTEGER) - nowMillis) : 0

/**
 * How long a granted lease may wait for its probe to start before it is given back: half its TTL.
 *
 * @internal
 */
export const leaseIdleMillis = (config: { readonly leaseTtlMillis: number }): number => config.leaseTtlMillis / 2

/** What one replica's shared retry budgets recorded since its last heartbeat: service → counts. @internal */
export type BudgetCounts = Record<string, readonly [successes: number, failures: number]>

/**
 * The message (on the fleet's channel) carrying a replica's budget counts, or `undefined` when
 * nothing was recorded. `sender` names the layer instance, so that it can skip its own.
 *
 * @internal
 */
export const encodeBudgets = (sender: string, counts: BudgetCounts): string | undefined =>
  Object.keys(counts).length === 0 ? undefined : JSON.stringify({ budgetsFrom: sender, counts })

/**
 * The counts of a budget message sent by another layer than `self`: every well-formed entry
 * (finite, non-negative counts), nothing for a message of `self`, a change message or anything
 * else.
 *
 * @internal
 */
export const decodeBudgets = (message: string, self: string): ReadonlyArray<readonly [string, number, number]> => {
  let decoded: { readonly budgetsFrom?: unknown; readonly counts?: unknown }
  try {
    decoded = JSON.parse(message) as typeof decoded
  } catch {
    return []
  }
  if (typeof decoded !== "object" || decoded === null) return []
  if (typeof decoded.budgetsFrom !== "string" || decoded.budgetsFrom === self) return []
  if (typeof decoded.counts !== "object" || decoded.counts === null) return []
  const entries: Array<readonly [string, number, number]> = []
  for (const [service, pair] of Object.entries(decoded.counts as Record<string, unknown>)) {
    if (!Array.isArray(pair)) continue
    const [successes, failures] = pair as Array<unknown>
    if (typeof successes !== "number" || typeof failures !== "number") continue
    if (!(successes >= 0 && failures >= 0 && Number.isFinite(successes) && Number.isFinite(failures))) continue
    entries.push([service, successes, failures])
  }
  return entries
}
