/**
 * The names every options object takes: the tables are the core's (`core/src/optionNames.ts`,
 * shared with the Effect 4 edition); this module checks at compile time that each lists exactly
 * the keys of this edition's options type, so an option added to a type and not to its table (or
 * the reverse) fails the build.
 *
 * @internal
 */
import * as Core from "../../core/src/optionNames.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as Fleet from "../Fleet.js"
import type * as KeyedCircuitBreaker from "../KeyedCircuitBreaker.js"
import type * as ResilientServiceClient from "../ResilientServiceClient.js"
import type * as RetryPolicy from "../RetryPolicy.js"

/** The table, accepted only if its record names each key of `T` once and nothing else. */
const namesOf = <T>() =>
<const R extends { readonly [K in keyof Required<T>]: true }>(
  table: Core.OptionTable<R> & { readonly record: { readonly [K in Exclude<keyof R, keyof T>]: never } }
): Core.OptionTable<R> => table

/** @internal */
export const client = namesOf<ResilientServiceClient.TransformOptions>()(Core.client)

/** @internal */
export const clientRetry = namesOf<ResilientServiceClient.RetryOptions>()(Core.clientRetry)

/** @internal */
export const clientBreaker = namesOf<ResilientServiceClient.BreakerOptions>()(Core.clientBreaker)

/** @internal */
export const clientBulkhead = namesOf<ResilientServiceClient.BulkheadOptions>()(Core.clientBulkhead)

/** @internal */
export const retryBudget = (path: ReadonlyArray<string>) =>
  namesOf<RetryPolicy.RetryBudgetOptions>()(Core.retryBudget(path))

/** @internal */
export const retryPolicy = namesOf<RetryPolicy.Options>()(Core.retryPolicy)

/** @internal */
export const breaker = namesOf<CircuitBreaker.Options>()(Core.breaker)

/** @internal */
export const keyedBreaker = namesOf<KeyedCircuitBreaker.Options>()(Core.keyedBreaker)

/** @internal */
export const fleet = namesOf<Fleet.Options>()(Core.fleet)
