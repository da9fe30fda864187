import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/**
 * Subscribes now (in the current scope) and returns an effect that waits for the next `n`
 * elements: subscribing before triggering anything is what makes a test of a hot stream
 * deterministic. Takes a queue (`Queue.Dequeue`) or a `PubSub.Subscription`.
 */
export const subscribe = <A>(
  subscription: Effect.Effect<Queue.Dequeue<A> | PubSub.Subscription<A>, never, Scope.Scope>
): Effect.Effect<(n: number) => Effect.Effect<ReadonlyArray<A>>, never, Scope.Scope> =>
  Effect.map(
    subscription,
    (source) => (n: number) =>
      Queue.isDequeue<A, never>(source)
        ? Queue.takeBetween(source, n, n)
        : PubSub.takeBetween(source as PubSub.Subscription<A>, n, n)
  )
