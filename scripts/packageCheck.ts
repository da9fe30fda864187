/**
 * What both editions' package checks share (scripts/test-package.ts for the Effect 3 edition,
 * effect4/scripts/test-package.ts for the Effect 4 one): a temporary folder, a log line with the
 * time since the start, and commands run to their end with their output collected.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A check that did not hold: its message is printed alone, without a stack. */
export class CheckFailed extends Error {}

export const check = (condition: unknown, message: string): void => {
  if (!condition) throw new CheckFailed(message)
}

export interface Ran {
  readonly code: number | null
  readonly output: string
}

export interface RunOptions {
  readonly cwd: string
  readonly extraEnv?: object
}

const env = {
  ...process.env,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_prefer_offline: "true",
  NO_COLOR: "1"
}

/** Runs a command to its end, with stdout and stderr collected together (printed if it fails). */
export const run = (command: string, args: ReadonlyArray<string>, options: RunOptions) =>
  new Promise<Ran>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...env, ...options.extraEnv },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("error", reject)
    // colours (on under CI=true) would split the lines the checks read
    child.on("close", (code) => resolve({ code, output: output.replace(/\u001b\[[0-9;]*m/g, "") }))
  })

/** `run`, failing the check unless the command exits with 0; its output otherwise. */
export const mustRun = async (command: string, args: ReadonlyArray<string>, options: RunOptions) => {
  const ran = await run(command, args, options)
  check(ran.code === 0, `\`${[command, ...args].join(" ")}\` exited with ${ran.code}:\n${ran.output}`)
  return ran.output
}

/** A package check: its temporary folder (under the system's), and its log lines. */
export const start = (name: string, folderPrefix: string) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), folderPrefix))
  const started = performance.now()
  const say = (line: string) =>
    console.log(`[${name} ${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`)
  /** Runs the check; removes the folder when it passes, keeps it and exits with 1 when it fails. */
  const main = (body: () => Promise<void>) =>
    body().then(
      () => {
        fs.rmSync(work, { recursive: true, force: true })
        say("passed")
      },
      (error: unknown) => {
        console.error(error instanceof CheckFailed ? `[${name}] FAILED: ${error.message}` : error)
        console.error(`[${name}] the folder is kept for inspection: ${work}`)
        process.exit(1)
      }
    )
  return { work, say, main }
}
