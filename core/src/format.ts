/**
 * Durations as text, the way both editions print them in names and messages: `"1m 30s"`,
 * `"250ms"`, `"0"`, `"Infinity"`.
 *
 * @internal
 */

/**
 * A number of milliseconds as days, hours, minutes, seconds, milliseconds and nanoseconds, the
 * units that are not zero separated by spaces (`90_000` → `"1m 30s"`, `1.5` → `"1ms 500000ns"`);
 * `"0"` for zero, `"Infinity"` for an infinite duration. Fractions below a nanosecond are rounded.
 *
 * @internal
 */
export const formatMillis = (millis: number): string => {
  if (millis === Infinity) return "Infinity"
  if (millis === 0) return "0"
  let nanos = BigInt(Math.round(millis * 1_000_000))
  const nanosPart = nanos % 1_000_000n
  nanos /= 1_000_000n
  const units: ReadonlyArray<readonly [bigint, string]> = [[1000n, "ms"], [60n, "s"], [60n, "m"], [24n, "h"]]
  const pieces: Array<string> = nanosPart === 0n ? [] : [`${nanosPart}ns`]
  for (const [size, unit] of units) {
    const part = nanos % size
    if (part !== 0n) pieces.unshift(`${part}${unit}`)
    nanos /= size
  }
  if (nanos !== 0n) pieces.unshift(`${nanos}d`)
  return pieces.join(" ")
}
