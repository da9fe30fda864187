/**
 * The plain types both editions share: a breaker's state, a tripping strategy, a rate window and
 * a validation issue. Nothing here depends on Effect; each edition's public types are the same
 * shapes (its `CircuitBreaker.TrippingStrategy` is assignable to this one and back).
 *
 * @internal
 */

/**
 * The state of a circuit breaker, as the wire JSON spells it.
 *
 * @internal
 */
export type BreakerState = "closed" | "open" | "half_open"

/**
 * Decides, from what the breaker saw in `closed`, when it opens. `initial`, `onSuccess` and
 * `onFailure` are pure (a new state, or the same one when nothing changed); `shouldTrip` is asked
 * after every counted failure, and after every success when `onSuccessMayTrip` is set. `now` is
 * the breaker's monotonic time in milliseconds.
 *
 * @internal
 */
export interface TrippingStrategy<S> {
  /** Shown in docs and logs, e.g. `consecutiveFailures(5)`. */
  readonly name: string
  /** The state when the breaker is made and every time it closes. */
  readonly initial: (now: number) => S
  /** A call succeeded in `closed`; `durationMillis` is 0 unless `needsDuration` is set. */
  readonly onSuccess: (state: S, now: number, durationMillis: number) => S
  /** A counted failure in `closed`; `durationMillis` as for `onSuccess`. */
  readonly onFailure: (state: S, now: number, durationMillis: number) => S
  /** Whether the breaker opens now. */
  readonly shouldTrip: (state: S, now: number) => boolean
  /** Set when a success can open the breaker: `shouldTrip` is then also asked after successes. */
  readonly onSuccessMayTrip?: boolean | undefined
  /** Set when `onSuccess`/`onFailure` read `durationMillis`. */
  readonly needsDuration?: boolean | undefined
}

/**
 * The state of a rate strategy: the calls in its window and those that count against the rate.
 *
 * @internal
 */
export interface RateWindow {
  readonly calls: number
  readonly failures: number
}

/**
 * What is wrong with one option: where (`["strategy", "window", "size"]`) and why
 * (`"must be a positive integer, got 0"`). Each edition turns issues into its own `ConfigError`.
 *
 * @internal
 */
export interface Issue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

/**
 * A checked value, or the issue that rejects it.
 *
 * @internal
 */
export type Checked<A> =
  | { readonly _tag: "Valid"; readonly value: A }
  | { readonly _tag: "Invalid"; readonly issue: Issue }

/** @internal */
export const valid = <A>(value: A): Checked<A> => ({ _tag: "Valid", value })

/** @internal */
export const invalid = <A = never>(path: ReadonlyArray<string>, message: string): Checked<A> => ({
  _tag: "Invalid",
  issue: { path, message }
})

/**
 * The next check on a valid value; an invalid one passes through.
 *
 * @internal
 */
export const andThen = <A, B>(checked: Checked<A>, f: (a: A) => Checked<B>): Checked<B> =>
  checked._tag === "Valid" ? f(checked.value) : checked
