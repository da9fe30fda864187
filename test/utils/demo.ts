/**
 * Runs `npm run demo` as a user would (`examples/demo/main.ts` under tsx, with `args`) and
 * collects what it prints; and checks that markers appear in a text in order.
 */
import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"

export const runDemo = (...args: ReadonlyArray<string>) => runDemoWithEnv(process.env, ...args)

/** {@link runDemo} with its own environment (a `PATH` without redis-server, say). */
export const runDemoWithEnv = (env: NodeJS.ProcessEnv, ...args: ReadonlyArray<string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/demo/main.ts", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill())
  })

/** Each marker is found in `text` after the one before it. */
export const expectInOrder = (text: string, markers: ReadonlyArray<string>) => {
  let at = 0
  for (const marker of markers) {
    const found = text.indexOf(marker, at)
    expect(found, `"${marker}" after position ${at}`).toBeGreaterThanOrEqual(at)
    at = found + marker.length
  }
}
