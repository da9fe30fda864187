import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/**
 * Subscribes now (in the current scope) and returns an effect that waits for the next `n`
 * elements: subscribing before triggering anything is what makes a test of a hot stream
 * deterministic.
 */
export const subscribe = <A>(
  subscription: Effect.Effect<Queue.Dequeue<A>, never, Scope.Scope>
): Effect.Effect<(n: number) => Effect.Effect<ReadonlyArray<A>>, never, Scope.Scope> =>
  Effect.map(subscription, (queue) => (n: number) => Effect.map(Queue.takeBetween(queue, n, n), Chunk.toReadonlyArray))
