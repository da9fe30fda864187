/**
 * Reading the `Config.ConfigError`s the library builds (a `Schema.SchemaError` whose issue points
 * at the option's path), for asserting which option an error names.
 */
import * as Config from "effect/Config"
import * as Schema from "effect/Schema"
import type * as SchemaIssue from "effect/SchemaIssue"

/** One issue of a `ConfigError`: the option's path and the message about it. */
export interface NamedIssue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

const flatten = (issue: SchemaIssue.Issue): ReadonlyArray<NamedIssue> => {
  switch (issue._tag) {
    case "Pointer":
      return flatten(issue.issue).map((inner) => ({
        path: [...issue.path.map(String), ...inner.path],
        message: inner.message
      }))
    case "Composite":
      return issue.issues.flatMap(flatten)
    case "InvalidValue":
      return [{ path: [], message: issue.annotations?.message as string ?? String(issue) }]
    default:
      return [{ path: [], message: String(issue) }]
  }
}

/** The issues of a `ConfigError`, or `undefined` when `error` is not one built from a schema issue. */
export const issuesOf = (error: unknown): ReadonlyArray<NamedIssue> | undefined =>
  error instanceof Config.ConfigError && Schema.isSchemaError(error.cause) ? flatten(error.cause.issue) : undefined

/** The path of the first issue of a `ConfigError` (`["failureThreshold"]`). */
export const pathOf = (error: unknown): ReadonlyArray<string> | undefined => issuesOf(error)?.[0]?.path
