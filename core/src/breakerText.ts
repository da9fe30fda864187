/**
 * What a breaker says, as plain text both editions print the same: the log line of each
 * transition, the line of a breaker resumed from its store, and a rejection's message. Each
 * edition logs the line at the level given, through its own logger.
 *
 * @internal
 */
import { formatMillis } from "./format.js"
import type { Reason } from "./machine.js"

/** The level of a breaker's log line, named as both editions' `Effect.log…` functions are. */
export type LogLevel = "Error" | "Warning" | "Info"

/** One log line: its level and its text. */
export interface LogLine {
  readonly level: LogLevel
  readonly message: string
}

/**
 * The line logged when breaker `name` makes a transition for `reason`: openings that say the
 * service is failing at Error, an operator's isolation at Warning, the rest at Info.
 *
 * @internal
 */
export const transitionLog = (name: string, reason: Reason): LogLine => {
  const line = (level: LogLevel, what: string): LogLine => ({ level, message: `[${name}] Circuit breaker ${what}` })
  switch (reason) {
    case "threshold":
      return line("Error", "OPEN (threshold reached)")
    case "probe_failed":
      return line("Error", "OPEN (probe failed)")
    case "probe_timeout":
      return line("Error", "OPEN (probe timed out)")
    case "isolated":
      return line("Warning", "OPEN (isolated manually)")
    case "recovery":
      return line("Info", "HALF_OPEN (testing recovery)")
    case "recovered":
      return line("Info", "CLOSED (service recovered)")
    case "reset":
      return line("Info", "CLOSED (reset manually)")
    case "fleet_opened":
      return line("Error", "OPEN (opened by the fleet)")
    case "fleet_closed":
      return line("Info", "CLOSED (closed by the fleet)")
  }
}

/**
 * The line (at Info) of a breaker made with a store that held it `open` or `half_open`:
 * `remainingMillis` is what is left of an opening that is not isolated.
 *
 * @internal
 */
export const restoredLog = (
  name: string,
  resumed: { readonly state: "open" | "half_open"; readonly isolated: boolean; readonly remainingMillis: number }
): string =>
  `[${name}] Circuit breaker ${resumed.state === "open" ? "OPEN" : "HALF_OPEN"} (restored from the store${
    resumed.isolated
      ? ", isolated manually"
      : resumed.state === "open"
      ? `, next probe in ${formatMillis(Math.max(0, resumed.remainingMillis))}`
      : ""
  })`

/**
 * The message of a rejection: the service, the state, and when the next probe may run (`0`: a
 * probe is in flight; `Infinity`: isolated).
 *
 * @internal
 */
export const rejectionMessage = (service: string, state: "open" | "half_open", retryAfterMillis: number): string => {
  const when = retryAfterMillis <= 0
    ? "a probe is in flight"
    : Number.isFinite(retryAfterMillis)
    ? `next probe in ${formatMillis(retryAfterMillis)}`
    : "isolated: no probe until it is reset"
  return `[${service}] Circuit breaker ${state === "open" ? "OPEN" : "HALF_OPEN"}: call rejected (${when})`
}

/**
 * The line (at Info) of a call that the breaker would have refused, run anyway and unrecorded
 * because it was made with `onRejection: "allow"`.
 *
 * @internal
 */
export const unrecordedLog = (name: string, state: "open" | "half_open"): string =>
  `[${name}] Circuit breaker ${state === "open" ? "OPEN" : "HALF_OPEN"}: call run unrecorded (onRejection: allow)`
