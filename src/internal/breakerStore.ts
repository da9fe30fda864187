/**
 * Persisted breaker state: a versioned JSON snapshot in a `KeyValueStore`, written after every
 * transition (by the breaker's own fiber, never on a caller's path) and read once when the breaker
 * is made; every read and write is bounded by a timeout. Nothing here can fail the breaker: a store
 * that errors, or a value that is not a snapshot this version understands, is logged and skipped.
 *
 * @internal
 */
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Core from "../../core/src/breakerSnapshot.js"
import type * as Machine from "./machine.js"

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
  state: Schema.Literal("closed", "open", "half_open"),
  failureCount: Schema.NonNegativeInt,
  lastFailure: Schema.NullOr(Schema.Date),
  lastStateChange: Schema.Date,
  openUntil: Schema.NullOr(Schema.Date),
  isolated: Schema.Boolean,
  opens: Schema.NonNegativeInt
})

const SnapshotJson = Schema.parseJson(SnapshotV1)
const decode = Schema.decodeUnknownEither(SnapshotJson)
const encode = Schema.encodeSync(SnapshotJson)

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
export const decodeSnapshot = (service: string, text: string): Either.Either<Machine.Snapshot, string> => {
  const decoded = decode(text)
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return Either.left(Core.notVersion1(issue?.path.map(String) ?? [], issue?.message))
  }
  const value = decoded.right
  const usable = Core.fromStored(service, {
    ...value,
    lastFailure: millisOrNull(value.lastFailure),
    lastStateChange: value.lastStateChange.getTime(),
    openUntil: millisOrNull(value.openUntil)
  })
  return usable._tag === "Usable" ? Either.right(usable.snapshot) : Either.left(usable.reason)
}

/**
 * Runs one store operation, bounded by `timeout`. The operation is disconnected from the fiber
 * that waits for it, so a store that hangs, even uninterruptibly, holds up nobody: the wait ends
 * at the timeout and the operation is interrupted in the background. The wait is interruptible
 * even where its caller is not (a finalizer), or the timeout could not end it.
 */
const bounded = <A, E>(operation: Effect.Effect<A, E>, timeout: Duration.Duration, what: string) =>
  Effect.timeoutFail(Effect.interruptible(Effect.disconnect(Effect.suspend(() => operation))), {
    duration: timeout,
    onTimeout: () => new Cause.TimeoutException(`${what} took longer than ${Duration.format(timeout)}`)
  })

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
    Effect.flatMap(Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (text) =>
        Either.match(decodeSnapshot(service, text), {
          onLeft: (reason) =>
            Effect.as(
              Effect.logWarning(
                Core.ignoredLog(service, key, reason)
              ),
              Option.none()
            ),
          onRight: (snapshot) => Effect.succeed(Option.some(snapshot))
        })
    })),
    Effect.catchAllCause((cause) =>
      Effect.as(
        Effect.logWarning(
          Core.readFailedLog(service, key, describe(cause))
        ),
        Option.none()
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
  Effect.catchAllCause(
    bounded(Effect.suspend(() => store.set(key, encodeSnapshot(service, snapshot))), timeout, "the write"),
    (cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.interrupt : Effect.logWarning(
        Core.writeFailedLog(service, key, describe(cause))
      )
  )
