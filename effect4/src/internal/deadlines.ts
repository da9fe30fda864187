/**
 * Attempt timeouts with one timer per client instead of one per attempt.
 *
 * Racing each attempt against a sleeping fiber of its own (what `Effect.timeoutOrElse` does)
 * costs a fork and a race per attempt; on the Effect 3 edition, whose design this is, that was
 * measured at 100–200 µs of CPU per request at 50 requests in flight on loopback, against about
 * 300 µs for the raw platform client. So every attempt registers its deadline (monotonic
 * milliseconds of the client's `Clock`) in a heap, and one timer fiber per client sleeps on that
 * `Clock` (so `TestClock` drives it) until the earliest deadline, then runs the `expire` effect
 * of every entry that is due: the client's `expire` interrupts the attempt's fiber, which ends it
 * whatever the transport does with its `AbortSignal`. An attempt that ends first removes its
 * entry. The timer is forked only when it is idle or when a new deadline is earlier than the one
 * it sleeps towards; a timer that wakes early sleeps again for what is left. The heap itself is
 * the core's (`core/src/deadlineHeap.ts`), shared by both editions.
 *
 * Its own behaviour (order, removal, a timer that wakes early, a failing `expire`, a closed
 * scope, a step of the wall clock) is tested in effect4/test/Deadlines.test.ts; the client's use
 * of it in the client's tests.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { HeapEntry } from "../../../core/src/deadlineHeap.js"
import { DeadlineHeap } from "../../../core/src/deadlineHeap.js"
import * as Time from "./time.js"

/** @internal */
export interface Entry extends HeapEntry {
  readonly expire: Effect.Effect<void>
}

/** @internal */
export interface Deadlines {
  /**
   * Registers a deadline in monotonic milliseconds (`Time.monotonicMillis`), so that a step of
   * the wall clock fires nothing early or late; `expire` runs when it passes, unless removed.
   */
  readonly register: (deadline: number, expire: Effect.Effect<void>) => Effect.Effect<Entry>
  /**
   * `register`, done at once where it is called (the caller masks interruption): the entry, and
   * the effect that starts the timer when this deadline is earlier than the one the timer sleeps
   * towards (to run at once, before the attempt), or `undefined` (the usual case: the timer is
   * already due no later). Saves the suspension and the step of an `Effect` per attempt.
   */
  readonly unsafeRegister: (
    deadline: number,
    expire: Effect.Effect<void>
  ) => readonly [Entry, Effect.Effect<void> | undefined]
  /** Removes an entry; a no-op if it already fired. Synchronous and cheap. */
  readonly remove: (entry: Entry) => void
  /** Entries pending (for tests). */
  readonly size: () => number
}

/** @internal */
export const make = (clock: Clock.Clock, scope: Scope.Scope): Deadlines => {
  const heap = new DeadlineHeap<Entry>()
  // The timer that currently owns the heap, and the deadline it sleeps towards. A superseded
  // timer still fires what is due when it wakes, then stops.
  let owner = 0
  let target = Infinity

  const fireDue = Effect.suspend(() => {
    const now = Time.monotonicMillis(clock)
    const due: Array<Effect.Effect<void>> = []
    for (let top = heap.peek(); top !== undefined && top.deadline <= now; top = heap.peek()) {
      heap.remove(top)
      due.push(top.expire)
    }
    // each on its own: one that fails or dies (a dispatcher's abort that throws) keeps neither
    // the others from running nor the timer from going on
    return due.length === 0 ? Effect.void : Effect.forEach(due, guarded, { discard: true })
  })

  const guarded = (expire: Effect.Effect<void>) => Effect.catchCause(expire, () => Effect.void)

  // a timer that ends while it owns the heap (its scope closed) hands it on: the next
  // registration starts a timer instead of waiting for one that is gone
  const released = (id: number) =>
    Effect.sync(() => {
      if (id === owner) {
        owner++
        target = Infinity
      }
    })

  const timer = (id: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (id !== owner) return Effect.void
      const top = heap.peek()
      if (top === undefined) {
        owner++
        target = Infinity
        return Effect.void
      }
      target = top.deadline
      const wait = top.deadline - Time.monotonicMillis(clock)
      return Effect.andThen(
        wait > 0 ? clock.sleep(Duration.millis(wait)) : Effect.void,
        Effect.andThen(Effect.uninterruptible(fireDue), timer(id))
      )
    })

  const unsafeRegister = (
    deadline: number,
    expire: Effect.Effect<void>
  ): readonly [Entry, Effect.Effect<void> | undefined] => {
    const entry: Entry = { deadline, expire, index: -1 }
    heap.push(entry)
    if (deadline >= target) return [entry, undefined]
    const id = ++owner
    target = deadline
    // forked from wherever the attempt runs, possibly an uninterruptible region: the timer
    // itself must stay interruptible so that the client's scope can close
    return [entry, Effect.asVoid(Effect.forkIn(Effect.interruptible(Effect.ensuring(timer(id), released(id))), scope))]
  }

  const register = (deadline: number, expire: Effect.Effect<void>): Effect.Effect<Entry> =>
    Effect.suspend(() => {
      const [entry, startTimer] = unsafeRegister(deadline, expire)
      return startTimer === undefined ? Effect.succeed(entry) : Effect.as(startTimer, entry)
    })

  return {
    register,
    unsafeRegister,
    remove: (entry) => heap.remove(entry),
    size: () => heap.items.length
  }
}
