/**
 * A hand-driven undici dispatcher: it takes each request and keeps its handler, and the test
 * plays undici's part (connects, answers, sends the body) when it likes.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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
          Deferred.unsafeDone(dispatched, Exit.succeed(handler))
          return true
        }
      } as unknown as Dispatcher,
      dispatched: Deferred.await(dispatched),
      options: () => last
    }
  }
)
