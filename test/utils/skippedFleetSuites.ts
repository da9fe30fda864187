/**
 * A vitest reporter (beside the default one, see vitest.config.ts) that ends a run in which the
 * fleet suites were skipped with one line naming them and saying why, so that a green run
 * without redis-server does not pass for a full one.
 */
import type { Reporter, TestModule } from "vitest/node"

/** Why the fleet suites are skipped; the skipped suites carry it in their names. */
export const missingReason = "redis-server is not installed (apt-get install redis-server); fleet tests skipped"

/** The names of the suites skipped for want of redis-server. */
export const skippedFleetSuites = (modules: ReadonlyArray<TestModule>): ReadonlyArray<string> =>
  modules.flatMap((module) =>
    Array.from(module.children.allSuites()).flatMap((suite) =>
      suite.name.endsWith(` (${missingReason})`) ? [suite.name.slice(0, -(missingReason.length + 3))] : []
    )
  )

export default class SkippedFleetSuites implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    const skipped = skippedFleetSuites(modules)
    if (skipped.length === 0) return
    process.stdout.write(
      `${skipped.length} fleet suite${skipped.length === 1 ? "" : "s"} skipped: redis-server is not on PATH ` +
        `(Debian: apt-get install redis-server; with CI set they fail instead): ${skipped.join("; ")}\n`
    )
  }
}
