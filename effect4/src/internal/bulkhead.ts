/**
 * The client's bulkhead: at most `maxConcurrent` calls at once, at most `maxQueued` more waiting
 * in line, every other call refused at once with `BulkheadFull`.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as BulkheadFull from "../BulkheadFull.js"
import * as Time from "./time.js"

interface Waiter {
  /** The waiting fiber's callback, once it is suspended. */
  resume: ((effect: Effect.Effect<void>) => void) | undefined
  /** `queued` until it gets a place (`granted`), leaves (`left`: interrupted or timed out) or the bulkhead shuts down. */
  state: "queued" | "granted" | "left" | "shut"
}

/** @internal */
export interface Bulkhead {
  /**
   * Runs `effect` once a place is free: at once when fewer than `maxConcurrent` calls run,
   * after waiting in line when the queue has room, and otherwise fails at once with
   * `BulkheadFull`. A wait still in line at `deadlineAt` (monotonic milliseconds of the
   * bulkhead's clock, `Time.monotonicMillis`; `Infinity` for none) fails with `onDeadline()`.
   * The place is held until `effect` ends, however it ends.
   */
  readonly withPlace: <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    deadlineAt: number,
    onDeadline: () => Cause.TimeoutError
  ) => Effect.Effect<A, E | BulkheadFull.BulkheadFull | Cause.TimeoutError, R>
  /** Ends every wait in line with an interruption, and refuses (interrupts) every later call. */
  readonly shutdown: () => void
  /** Calls running and calls waiting now (for tests and metrics). */
  readonly size: () => { readonly running: number; readonly queued: number }
}

/**
 * A counting semaphore with a bounded FIFO queue. Places pass from a finishing call straight to
 * the first waiter, so a newcomer never overtakes the queue (Effect's `Semaphore` lets one
 * barge in between a release and the waiter's wake-up). State changes are synchronous, and a
 * waiter's `state` settles every race (granted, interrupted, timed out, shut down) in one place.
 *
 * @internal
 */
export const make = (
  serviceName: string,
  maxConcurrent: number,
  maxQueued: number,
  clock: Clock.Clock
): Bulkhead => {
  let running = 0
  let shut = false
  // a Set keeps insertion order and removes a waiter that leaves in O(1)
  const queue = new Set<Waiter>()

  const release = (): void => {
    for (const waiter of queue) {
      queue.delete(waiter)
      waiter.state = "granted"
      waiter.resume?.(Effect.void)
      return
    }
    running--
  }
  const releaseEffect = Effect.sync(release)

  /** The waiter's fiber was interrupted (or its wait timed out): leave the line, or pass on a place it was just given. */
  const leave = (waiter: Waiter): void => {
    if (waiter.state === "granted") release()
    else queue.delete(waiter)
    waiter.state = "left"
  }

  const awaitPlace = (waiter: Waiter) =>
    Effect.callback<void>((resume) => {
      if (waiter.state === "granted") return resume(Effect.void)
      if (waiter.state === "shut") return resume(Effect.interrupt)
      waiter.resume = resume
    })

  /**
   * Runs uninterruptible up to the wait itself, which `restore` makes interruptible: a waiter
   * is in the queue only once its interruption handler is in place.
   */
  const acquire = (
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    deadlineAt: number,
    onDeadline: () => Cause.TimeoutError
  ) =>
    Effect.suspend((): Effect.Effect<void, BulkheadFull.BulkheadFull | Cause.TimeoutError> => {
      if (shut) return Effect.interrupt
      if (running < maxConcurrent) {
        running++
        return Effect.void
      }
      if (queue.size >= maxQueued) return Effect.fail(BulkheadFull.unsafeMake(serviceName, maxConcurrent, maxQueued))
      const waiter: Waiter = { resume: undefined, state: "queued" }
      queue.add(waiter)
      const waiting: Effect.Effect<void, Cause.TimeoutError> = deadlineAt === Infinity
        ? awaitPlace(waiter)
        : Effect.timeoutOrElse(awaitPlace(waiter), {
          duration: Duration.millis(Math.max(0, deadlineAt - Time.monotonicMillis(clock))),
          orElse: () => Effect.fail(onDeadline())
        })
      return Effect.onExit(restore(waiting), (exit) =>
        exit._tag === "Success" ? Effect.void : Effect.sync(() => {
          if (waiter.state !== "shut") leave(waiter)
        }))
    })

  return {
    withPlace: <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      deadlineAt: number,
      onDeadline: () => Cause.TimeoutError
    ) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          acquire(restore, deadlineAt, onDeadline),
          () => Effect.ensuring(restore(effect), releaseEffect)
        )
      ),
    shutdown: () => {
      shut = true
      for (const waiter of queue) {
        waiter.state = "shut"
        waiter.resume?.(Effect.interrupt)
      }
      queue.clear()
    },
    size: () => ({ running, queued: queue.size })
  }
}
