/**
 * The client's bulkhead: at most `maxConcurrent` calls at once, at most `maxQueued` more waiting
 * in line, every other call refused at once with `BulkheadFull`.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as BulkheadFull from "../BulkheadFull.js"
import type { ClientError } from "../ResilientServiceClient.js"
import type * as Deadlines from "./deadlines.js"

interface Waiter {
  /** The waiting fiber's callback, once it is suspended. */
  resume: ((effect: Effect.Effect<void, ClientError>) => void) | undefined
  /** `queued` until it gets a place (`granted`), its deadline passes (`expired`) or it is interrupted (`left`). */
  state: "queued" | "granted" | "expired" | "left"
  /** Its deadline in the client's deadline heap, if the call has one. */
  entry: Deadlines.Entry | undefined
}

/** @internal */
export interface Bulkhead {
  /**
   * Runs `effect` once a place is free: at once when fewer than `maxConcurrent` calls run,
   * after waiting in line when the queue has room, and otherwise fails at once with
   * `BulkheadFull`. A wait still in line at `deadlineAt` (Clock milliseconds; `Infinity` for
   * none) fails with `onDeadline()`. The place is held until `effect` ends, however it ends.
   */
  readonly withPlace: <A>(
    effect: Effect.Effect<A, ClientError>,
    deadlineAt: number,
    onDeadline: () => Cause.TimeoutException
  ) => Effect.Effect<A, ClientError>
}

/**
 * A counting semaphore with a bounded FIFO queue. Places pass from a finishing call straight to
 * the first waiter, so a newcomer never overtakes the queue. All state changes are synchronous,
 * and a waiter's `state` settles every race (granted, expired, interrupted) in one place; the
 * wait runs in the caller's fiber (no fork), its deadline kept in the client's deadline heap.
 */
export const make = (
  serviceName: string,
  maxConcurrent: number,
  maxQueued: number,
  deadlines: Deadlines.Deadlines
): Bulkhead => {
  let running = 0
  // a Set keeps insertion order and removes a waiter that leaves in O(1)
  const queue = new Set<Waiter>()

  const release = (): void => {
    for (const waiter of queue) {
      queue.delete(waiter)
      waiter.state = "granted"
      if (waiter.entry !== undefined) deadlines.remove(waiter.entry)
      waiter.resume?.(Effect.void)
      return
    }
    running--
  }
  const releaseEffect = Effect.sync(release)

  /** The waiter's fiber was interrupted: leave the line, or pass on a place it was just given. */
  const leave = (waiter: Waiter): void => {
    if (waiter.entry !== undefined) deadlines.remove(waiter.entry)
    if (waiter.state === "granted") release()
    else queue.delete(waiter)
    waiter.state = "left"
  }

  const expire = (waiter: Waiter, onDeadline: () => Cause.TimeoutException): void => {
    if (waiter.state !== "queued") return
    queue.delete(waiter)
    waiter.state = "expired"
    waiter.resume?.(Effect.fail(onDeadline()))
  }

  const awaitPlace = (waiter: Waiter, onDeadline: () => Cause.TimeoutException) =>
    Effect.async<void, ClientError>((resume) => {
      if (waiter.state === "granted") return resume(Effect.void)
      if (waiter.state === "expired") return resume(Effect.fail(onDeadline()))
      waiter.resume = resume
    })

  /**
   * Runs uninterruptible up to the wait itself, which `restore` makes interruptible: a waiter
   * is in the queue only once its interruption handler is in place.
   */
  const acquire = (
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    deadlineAt: number,
    onDeadline: () => Cause.TimeoutException
  ) =>
    Effect.suspend((): Effect.Effect<void, ClientError> => {
      if (running < maxConcurrent) {
        running++
        return Effect.void
      }
      if (queue.size >= maxQueued) return Effect.fail(BulkheadFull.unsafeMake(serviceName, maxConcurrent, maxQueued))
      const waiter: Waiter = { resume: undefined, state: "queued", entry: undefined }
      queue.add(waiter)
      const waiting = Effect.onInterrupt(
        restore(awaitPlace(waiter, onDeadline)),
        () => Effect.sync(() => leave(waiter))
      )
      return deadlineAt === Infinity
        ? waiting
        : Effect.flatMap(deadlines.register(deadlineAt, Effect.sync(() => expire(waiter, onDeadline))), (entry) => {
          waiter.entry = entry
          return waiting
        })
    })

  return {
    withPlace: (effect, deadlineAt, onDeadline) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          acquire(restore, deadlineAt, onDeadline),
          () => Effect.ensuring(restore(effect), releaseEffect)
        )
      )
  }
}
