import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as net from "node:net"

/**
 * Whether Debian's `redis-server` can be run here. The fleet tests need one; where it is missing
 * they are skipped with that reason, except under CI (`CI` set), where a missing server fails.
 */
export const redisServerPath: string | undefined = (() => {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" })
  return probe.status === 0 ? "redis-server" : undefined
})()

/** A loopback port that was free a moment ago (port 0, then closed). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** The running process (replaced by `restart`). */
  readonly process: () => ChildProcess
  /** Sends a signal to the server (`SIGSTOP`, `SIGCONT`, `SIGKILL`). */
  readonly signal: (signal: NodeJS.Signals) => void
  /** Kills the server (SIGKILL) and resolves once it has exited. */
  readonly kill: () => Promise<void>
  /** Starts a fresh server (empty data) on the same port; kills the old one first if it runs. */
  readonly restart: () => Promise<void>
  /** Stops the server for good. */
  readonly stop: () => Promise<void>
}

const launch = (port: number, extra: ReadonlyArray<string>): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(redisServerPath ?? "redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--enable-debug-command",
      "local",
      ...extra
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      if (output.includes("Ready to accept connections")) {
        child.stdout!.off("data", onData)
        child.off("exit", onExit)
        // keep draining so the pipe never fills
        child.stdout!.resume()
        resolve(child)
      }
    }
    const onExit = (code: number | null) =>
      reject(new Error(`redis-server on port ${port} exited (${code}) before it was ready:\n${output}`))
    // a test run that ends abruptly (a crash, a timeout) must not leave the server behind
    const killOnExit = () => child.kill("SIGKILL")
    process.once("exit", killOnExit)
    child.once("exit", () => process.off("exit", killOnExit))
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.once("exit", onExit)
    child.once("error", reject)
  })

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()))

/**
 * Starts a private `redis-server` on a free 127.0.0.1 port, with no persistence and the DEBUG
 * command allowed from loopback. A port taken between the probe and the launch is retried.
 * `extraArgs` adds options to the command line (computed once per port tried; `restart` reuses
 * them).
 */
export const startRedis = async (
  extraArgs: (port: number) => Promise<ReadonlyArray<string>> = () => Promise.resolve([])
): Promise<RedisServer> => {
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    try {
      const extra = await extraArgs(port)
      let child = await launch(port, extra)
      const kill = async () => {
        const current = child
        if (current.exitCode === null && current.signalCode === null) {
          current.kill("SIGKILL")
        }
        await exited(current)
      }
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        process: () => child,
        signal: (signal) => {
          child.kill(signal)
        },
        kill,
        restart: async () => {
          await kill()
          child = await launch(port, extra)
        },
        stop: async () => {
          child.kill("SIGCONT")
          await kill()
        }
      }
    } catch (error) {
      lastError = error
    }
  }
  throw lastError
}
