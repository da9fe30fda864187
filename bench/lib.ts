/**
 * Shared helpers of the benchmarks: statistics, the upstream child process, the table printer.
 */
import { type ChildProcess, fork } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

export interface Options {
  readonly quick: boolean
  /** Micro-benchmarks timed on the wall clock instead of the process's CPU time. */
  readonly wall: boolean
}

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

export const range = (xs: ReadonlyArray<number>): [number, number] => [Math.min(...xs), Math.max(...xs)]

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** The order of `names` for repeat `i`: rotated each repeat, reversed every other one. */
export const orderFor = <A>(names: ReadonlyArray<A>, i: number): Array<A> => {
  const rotated = names.map((_, k) => names[(k + i) % names.length]!)
  return i % 2 === 0 ? rotated : rotated.reverse()
}

export const now = (): bigint => process.hrtime.bigint()
export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms)
  })

export type Mode = "ok" | "down" | "hang" | { readonly flaky: number }

/** The upstream, a child process on 127.0.0.1 (port 0); `setMode` switches what it answers. */
export interface Upstream {
  readonly url: string
  readonly port: number
  readonly setMode: (mode: Mode) => Promise<void>
  readonly close: () => void
}

const serverPath = fileURLToPath(new URL("./server.mjs", import.meta.url).href.replace("/.build/", "/"))

export const startUpstream = async (mode: Mode = "ok"): Promise<Upstream> => {
  const child: ChildProcess = fork(serverPath, [JSON.stringify(mode)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port))
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setMode: (next) =>
      new Promise<void>((resolve) => {
        child.once("message", () => resolve())
        child.send({ mode: next })
      }),
    close: () => {
      child.kill()
    }
  }
}

/** A port on 127.0.0.1 with nothing listening (bound once, then released). */
export const refusingPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The tables printed so far, as Markdown (written next to the JSON results). */
export const markdown: Array<string> = []

/** Prints a plain-text table (and keeps a Markdown copy in {@link markdown}). */
export const table = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>) => {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : String(c))))]
  markdown.push(
    `**${title}**\n\n| ${header.map((h) => h || " ").join(" | ")} |\n|${header.map(() => " --- ").join("|")}|\n${
      cells.slice(1).map((r) => `| ${r.join(" | ")} |`).join("\n")
    }\n`
  )
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)))
  const line = (r: ReadonlyArray<unknown>) => r.map((c, i) => String(c ?? "").padEnd(widths[i]!)).join("  ")
  console.log(`\n${title}`)
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const r of cells.slice(1)) console.log(line(r))
}

export const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toLocaleString("en-US")
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

export const fmtRange = (r: readonly [number, number]): string => `${fmt(r[0])}–${fmt(r[1])}`
