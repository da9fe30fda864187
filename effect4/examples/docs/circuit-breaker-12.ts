// docs/circuit-breaker.md, example 12 (kept in sync by test/editionDocs.test.ts)
interface TrippingStrategy<S> {
  readonly name: string
  readonly initial: (now: number) => S
  readonly onSuccess: (state: S, now: number, durationMillis: number) => S
  readonly onFailure: (state: S, now: number, durationMillis: number) => S
  readonly shouldTrip: (state: S, now: number) => boolean
  readonly onSuccessMayTrip?: boolean // default false
  readonly needsDuration?: boolean // default false
}

// used here so that the example compiles under noUnusedLocals
export type { TrippingStrategy }
