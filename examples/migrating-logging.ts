import { Effect, Logger, LogLevel } from "effect"

declare const program: Effect.Effect<void>

// the "✓ … succeeded" lines are Debug, below Effect's default minimum level (Info)
const verbose = program.pipe(Logger.withMinimumLogLevel(LogLevel.Debug))

// one JSON object per line instead of logfmt, for a log collector
const asJson = program.pipe(Effect.provide(Logger.json))

export { asJson, verbose }
