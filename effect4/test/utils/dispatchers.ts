/**
 * A hand-driven undici dispatcher: it takes each request and keeps its handler, and the test
 * plays undici's part (starts the request, answers, sends the body) when it likes, through the
 * undici 8 handler API (`onRequestStart`, `onResponseStart`, `onResponseData`, ...).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { Dispatcher } from "undici"

export interface HeldDispatcher {
  readonly dispatcher: Dispatcher
  /** Completes once a request was dispatched, with the handler of the last one. */
  readonly dispatched: Effect.Effect<Dispatcher.DispatchHandler>
  /** The options of the last request dispatched (its body as undici would pull it). */
  readonly options: () => Dispatcher.DispatchOptions | undefined
}

/** A dispatcher that never answers on its own (see {@link HeldDispatcher}). */
export const heldDispatcher: Effect.Effect<HeldDispatcher> = Effect.map(
  Deferred.make<Dispatcher.DispatchHandler>(),
  (dispatched) => {
    let last: Dispatcher.DispatchOptions | undefined
    return {
      dispatcher: {
        dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
          last = options
          Deferred.doneUnsafe(dispatched, Effect.succeed(handler))
          return true
        }
      } as unknown as Dispatcher,
      dispatched: Deferred.await(dispatched),
      options: () => last
    }
  }
)

/** What a test sees of the controller it hands to a held request's handler. */
export interface FakeController extends Dispatcher.DispatchController {
  /** The reason of the first `abort`, if any. */
  readonly abortedWith: () => Error | undefined
  /** How many times the handler paused / resumed the response. */
  readonly pauses: () => number
  readonly resumes: () => number
}

/**
 * A controller to play undici's part with a held handler. `abortDoesNothing` makes `abort`
 * record the call and nothing else (a dispatcher whose abort is a no-op).
 */
export const fakeController = (options: { readonly abortDoesNothing?: boolean } = {}): FakeController => {
  let reason: Error | undefined
  let paused = false
  let pauses = 0
  let resumes = 0
  return {
    get aborted() {
      return reason !== undefined && options.abortDoesNothing !== true
    },
    get paused() {
      return paused
    },
    get reason() {
      return reason ?? null
    },
    abort(error: Error) {
      reason ??= error
    },
    pause() {
      paused = true
      pauses++
    },
    resume() {
      paused = false
      resumes++
    },
    abortedWith: () => reason,
    pauses: () => pauses,
    resumes: () => resumes
  }
}
