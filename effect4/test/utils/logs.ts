/**
 * A logger that records every line, for asserting on log output.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as References from "effect/References"

export interface LogLine {
  /** The level as the Effect 3 edition's tests spell it: `ERROR`, `WARN`, `INFO`, `DEBUG`. */
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

const labels: Record<string, string> = {
  Fatal: "FATAL",
  Error: "ERROR",
  Warn: "WARN",
  Info: "INFO",
  Debug: "DEBUG",
  Trace: "TRACE"
}

/**
 * A logger that records every line (Debug and up) into `lines`, replacing the other loggers while
 * it is provided.
 */
export const makeLogCapture = () => {
  const lines: Array<LogLine> = []
  const logger = Logger.make(({ fiber, logLevel, message }) => {
    lines.push({
      level: labels[logLevel] ?? logLevel.toUpperCase(),
      message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
      annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
    })
  })
  const layer = Layer.mergeAll(
    Logger.layer([logger]),
    Layer.succeed(References.MinimumLogLevel, "Debug")
  )
  const provide = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, layer)
  return { lines, layer, provide, messages: () => lines.map((l) => l.message) }
}
