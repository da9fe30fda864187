/**
 * Persisted breaker state: a versioned JSON snapshot in a `KeyValueStore`, written after every
 * transition (by the breaker's own fiber, never on a caller's path) and read once when the breaker
 * is made; every read and write is bounded by a timeout. Nothing here can fail the breaker: a store
 * that errors, or a value that is not a snapshot this version understands, is logged and skipped.
 * The JSON is the Effect 3 edition's, so either edition resumes a snapshot the other wrote.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as KeyValueStore from "effect/persistence/KeyValueStore"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Core from "../../../core/src/breakerSnapshot.js"
import type * as Machine from "./machine.js"

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * Version 1 of the stored snapshot. Dates are ISO-8601 strings on the wall clock, so a stored
 * value can be read by a person and by the next process (a breaker's monotonic clock starts anew
 * with each process: `Machine.snapshot` and `Machine.restore` convert its `openUntil`);
 * `openUntil` is `null` unless the breaker is `open` and not isolated.
 *
 * @internal
 */
export const SnapshotV1 = Schema.Struct({
  version: Schema.Literal(1),
  service: Schema.String,
  state: Schema.Literals(["closed", "open", "half_open"]),
  failureCount: NonNegativeInt,
  lastFailure: Schema.NullOr(Schema.DateFromString),
  lastStateChange: Schema.DateFromString,
  openUntil: Schema.NullOr(Schema.DateFromString),
  isolated: Schema.Boolean,
  opens: NonNegativeInt
})

const SnapshotJson = Schema.fromJsonString(SnapshotV1)
const decode = Schema.decodeUnknownResult(SnapshotJson)
const encode = Schema.encodeSync(SnapshotJson)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** @internal */
export const defaultKey = Core.defaultKey

const date = (millis: number): Date => new Date(millis)
const dateOrNull = (millis: number | null): Date | null => millis === null ? null : new Date(millis)
const millisOrNull = (value: Date | null): number | null => value === null ? null : value.getTime()

/** @internal */
export const encodeSnapshot = (service: string, snapshot: Machine.Snapshot): string => {
  const stored = Core.toStored(service, snapshot)
  return encode({
    ...stored,
    lastFailure: dateOrNull(stored.lastFailure),
    lastStateChange: date(stored.lastStateChange),
    openUntil: dateOrNull(stored.openUntil)
  })
}

/**
 * The snapshot stored as `text`, or why it cannot be used.
 *
 * @internal
 */
export const decodeSnapshot = (service: string, text: string): Result.Result<Machine.Snapshot, string> => {
  const decoded = decode(text)
  if (Result.isFailure(decoded)) {
    const issue = formatter(decoded.failure.issue).issues[0]
    const path = issue?.path?.map((key) => typeof key === "object" ? String(key.key) : String(key)) ?? []
    return Result.fail(Core.notVersion1(path, issue?.message))
  }
  const value = decoded.success
  const usable = Core.fromStored(service, {
    ...value,
    lastFailure: millisOrNull(value.lastFailure),
    lastStateChange: value.lastStateChange.getTime(),
    openUntil: millisOrNull(value.openUntil)
  })
  return usable._tag === "Usable" ? Result.succeed(usable.snapshot) : Result.fail(usable.reason)
}

/**
 * Runs one store operation, bounded by `timeout`. The operation runs on a fiber of its own that
 * the waiting fiber only joins, so a store that hangs, even uninterruptibly, holds up nobody: the
 * wait ends at the timeout and the operation is interrupted in the background. The wait is
 * interruptible even where its caller is not (a finalizer), or the timeout could not end it.
 */
const bounded = <A, E>(operation: Effect.Effect<A, E>, timeout: Duration.Duration, what: string) =>
  Effect.timeoutOrElse(
    Effect.interruptible(
      Effect.flatMap(
        Effect.forkDetach(Effect.interruptible(Effect.suspend(() => operation))),
        (fiber) => Effect.onInterrupt(Fiber.join(fiber), () => Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber))))
      )
    ),
    {
      duration: timeout,
      orElse: () => Effect.fail(new Cause.TimeoutError(`${what} took longer than ${Duration.format(timeout)}`))
    }
  )

/**
 * Reads the snapshot under `key`; `None` when there is none, or (with a Warning) when it cannot
 * be read or used, or when the store does not answer within `timeout`.
 *
 * @internal
 */
export const load = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  service: string,
  timeout: Duration.Duration
): Effect.Effect<Option.Option<Machine.Snapshot>> =>
  bounded(store.get(key), timeout, "the read").pipe(
    Effect.flatMap((text) => {
      if (text === undefined) return Effect.succeedNone
      return Result.match(decodeSnapshot(service, text), {
        onFailure: (reason) =>
          Effect.as(
            Effect.logWarning(
              Core.ignoredLog(service, key, reason)
            ),
            Option.none<Machine.Snapshot>()
          ),
        onSuccess: (snapshot) => Effect.succeed(Option.some(snapshot))
      })
    }),
    Effect.catchCause((cause) =>
      Effect.as(
        Effect.logWarning(
          Core.readFailedLog(service, key, describe(cause))
        ),
        Option.none<Machine.Snapshot>()
      )
    )
  )

/**
 * Writes a snapshot under `key`, bounded by `timeout`; a store that fails or does not answer in
 * time is logged (Warning), never raised.
 *
 * @internal
 */
export const save = (
  store: KeyValueStore.KeyValueStore,
  key: string,
  service: string,
  snapshot: Machine.Snapshot,
  timeout: Duration.Duration
): Effect.Effect<void> =>
  Effect.catchCause(
    Effect.asVoid(
      bounded(Effect.suspend(() => store.set(key, encodeSnapshot(service, snapshot))), timeout, "the write")
    ),
    (cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning(
        Core.writeFailedLog(service, key, describe(cause))
      )
  )
