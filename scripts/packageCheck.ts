/**
 * What both editions' package checks share (scripts/test-package.ts for the Effect 3 edition,
 * effect4/scripts/test-package.ts for the Effect 4 one): a temporary folder, a log line with the
 * time since the start, commands run to their end with their output collected, packing, the
 * tarball's doc links, following a getting-started page step by step, and running the app that
 * both editions' pages build (`npm start` against a loopback Chroma, `npm test`).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { action, type Step } from "./gettingStarted.js"

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

/** Packs the package in `dir` into `work`, from no `dist/` (so the tarball's `dist/` proves that packing builds it). */
export const pack = async (dir: string, work: string): Promise<{ tarball: string; files: ReadonlySet<string> }> => {
  fs.rmSync(path.join(dir, "dist"), { recursive: true, force: true })
  const output = await mustRun("npm", ["pack", "--json", "--pack-destination", work], { cwd: dir })
  // lifecycle scripts print before the JSON on some npm versions
  const [packed] = JSON.parse(output.slice(output.indexOf("[\n"))) as Array<
    { filename: string; files: Array<{ path: string }> }
  >
  check(packed !== undefined, `npm pack printed no result:\n${output}`)
  return { tarball: path.join(work, packed!.filename), files: new Set(packed!.files.map((file) => file.path)) }
}

/** Unpacks the tarball under `work`; the folder holding its files. */
export const unpack = async (tarball: string, work: string): Promise<string> => {
  const unpacked = path.join(work, "unpacked")
  fs.mkdirSync(unpacked)
  await mustRun("tar", ["-xzf", tarball, "-C", unpacked], { cwd: work })
  return path.join(unpacked, "package")
}

/** Checks that every relative link of the shipped README and docs reaches a shipped file; how many. */
export const checkDocLinks = (files: ReadonlySet<string>, base: string): number => {
  let links = 0
  for (const file of files) {
    if (!file.endsWith(".md")) continue
    const text = fs.readFileSync(path.join(base, file), "utf8")
    for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(href!) || href!.startsWith("#")) continue
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), href!.replace(/#.*$/, "")))
      check(files.has(target), `${file} links to ${href}, which is not in the tarball`)
      links++
    }
  }
  return links
}

/** `npm run typecheck` in the app, then the same sources under `moduleResolution` Bundler. */
export const typecheckBoth = async (app: string) => {
  await mustRun("npm", ["run", "typecheck"], { cwd: app })
  fs.writeFileSync(
    path.join(app, "tsconfig.bundler.json"),
    JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { module: "Preserve", moduleResolution: "Bundler" } })
  )
  await mustRun("npx", ["tsc", "-p", "tsconfig.bundler.json"], { cwd: app })
}

export interface Page {
  /** The page's path, for messages. */
  readonly name: string
  readonly steps: ReadonlyArray<Step>
  readonly work: string
  readonly tarball: string
  readonly say: (line: string) => void
  /** What each of the page's `npm run typecheck`, `npm start` and `npm test` checks, in the app's folder. */
  readonly scripts: { readonly [script in "typecheck" | "start" | "test"]: (app: string) => Promise<void> }
}

/**
 * Follows a getting-started page in `work`: its commands (the install lines with the tarball in
 * place of the registry's `effect-resilience`), its files; the app's folder.
 */
export const follow = async (page: Page): Promise<string> => {
  let cwd = page.work
  let app: string | undefined
  for (const step of page.steps) {
    if (step._tag === "File") {
      check(app !== undefined, `${step.path} is written before the project folder is made`)
      const file = path.join(cwd, step.path)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      if (step.continued) fs.appendFileSync(file, `\n${step.text}`)
      else fs.writeFileSync(file, step.text, { flag: "wx" })
      continue
    }
    const todo = action(step.command)
    if (todo === undefined) {
      throw new CheckFailed(`${page.name} runs \`${step.command}\`, which this check does not know`)
    }
    page.say(`$ ${step.command}`)
    switch (todo._tag) {
      case "Enter": {
        cwd = path.join(cwd, todo.directory)
        fs.mkdirSync(cwd) // fails if it exists: the page starts from an empty folder
        app = cwd
        break
      }
      case "Install": {
        // exactly the page's line, with the packed tarball standing in for the registry's copy
        // (`effect-resilience@^0.3` on the Effect 3 edition's pages: its line once 0.4 is `latest`)
        const ours = (arg: string) => arg === "effect-resilience" || arg.startsWith("effect-resilience@")
        check(todo.args.some(ours) || !step.command.includes("effect-resilience"), step.command)
        await mustRun("npm", todo.args.map((arg) => ours(arg) ? page.tarball : arg), { cwd })
        break
      }
      case "Script": {
        await page.scripts[todo.script](cwd)
        break
      }
      case "Serve": {
        page.say("  (not run: it listens on every interface; this check listens only on 127.0.0.1:0)")
        break
      }
    }
  }
  check(app !== undefined, `${page.name} never makes its project folder`)
  return app!
}

/**
 * The package's own declarations, checked rather than skipped (`skipLibCheck: false`), under
 * both resolutions, from a folder beside the app's sources. (The app itself keeps the page's
 * `skipLibCheck`, since `@effect/platform-node`'s declarations need `@types/ws`.)
 */
export const checkDeclarations = async (app: string, say: (line: string) => void) => {
  const dir = path.join(app, "declarations-check")
  fs.mkdirSync(dir)
  fs.writeFileSync(
    path.join(dir, "index.ts"),
    [
      "import * as Resilience from \"effect-resilience\"",
      "import * as Testing from \"effect-resilience/testing\"",
      "export const used = [Resilience.ResilientServiceClient.make, Testing.fakeUpstream] as const",
      ""
    ].join("\n")
  )
  for (
    const [name, compilerOptions] of [
      ["nodenext", { module: "NodeNext", moduleResolution: "NodeNext", skipLibCheck: false }],
      ["bundler", { module: "Preserve", moduleResolution: "Bundler", skipLibCheck: false }]
    ] as const
  ) {
    fs.writeFileSync(
      path.join(dir, `tsconfig.${name}.json`),
      JSON.stringify({ extends: "../tsconfig.json", compilerOptions, include: ["index.ts"] })
    )
    await mustRun("npx", ["tsc", "-p", `tsconfig.${name}.json`], { cwd: dir })
  }
  say("the package's declarations type-check with skipLibCheck off, under NodeNext and Bundler")
}

// ---------------------------------------------------------------------------------------------
// A loopback Chroma
// ---------------------------------------------------------------------------------------------

interface Upstream {
  readonly url: string
  readonly bodies: Array<unknown>
  readonly close: () => Promise<void>
}

const listen = (server: http.Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** A loopback Chroma answering every query with 3 ids; it records the bodies it receives. */
const healthyChroma = async (): Promise<Upstream> => {
  const bodies: Array<unknown> = []
  const server = http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      bodies.push(request.method === "POST" && request.url === "/query" ? JSON.parse(body) : request.url)
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify({ ids: [["doc-1", "doc-2", "doc-3"]] }))
    })
  })
  const port = await listen(server)
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => closeServer(server) }
}

/** A loopback address where nothing listens: a port that was just free, closed again. */
const refusingChroma = async (): Promise<string> => {
  const server = http.createServer()
  const port = await listen(server)
  await closeServer(server)
  return `http://127.0.0.1:${port}`
}

// ---------------------------------------------------------------------------------------------
// The app of a getting-started page, run
// ---------------------------------------------------------------------------------------------

/**
 * `npm start` of a getting-started app (both editions' pages build the same one): against a
 * healthy loopback Chroma it finds 3 documents with one request of the page's body; against a
 * port where nothing listens it logs two retries, the fallback's warning and 0 documents, and
 * exits with 0.
 */
export const startAgainstChroma = async (app: string, say: (line: string) => void) => {
  const chroma = await healthyChroma()
  try {
    const output = await mustRun("npm", ["start"], { cwd: app, extraEnv: { CHROMA_SERVER_URL: chroma.url } })
    check(
      output.includes("found 3 documents"),
      `npm start against a healthy Chroma did not find 3 documents:\n${output}`
    )
    check(chroma.bodies.length === 1, `the healthy Chroma saw ${chroma.bodies.length} requests, not 1`)
    check(
      JSON.stringify(chroma.bodies[0]) === JSON.stringify({ query_texts: ["circuit breakers"], n_results: 5 }),
      `the healthy Chroma saw ${JSON.stringify(chroma.bodies[0])}`
    )
  } finally {
    await chroma.close()
  }
  say("npm start against a healthy loopback Chroma: found 3 documents")
  const down = await refusingChroma()
  const output = await mustRun("npm", ["start"], { cwd: app, extraEnv: { CHROMA_SERVER_URL: down } })
  for (
    const expected of ["attempt 1/3", "attempt 2/3", "Search failed, answering with no results", "found 0 documents"]
  ) {
    check(output.includes(expected), `npm start against a refusing Chroma did not print "${expected}":\n${output}`)
  }
  say("npm start against a refusing loopback Chroma: 3 attempts, then the fallback's answer, exit 0")
}

/** `npm test` of a getting-started app: its 2 tests pass. */
export const testPasses = async (app: string, say: (line: string) => void) => {
  const output = await mustRun("npm", ["test"], { cwd: app })
  check(/Tests\s+2 passed/.test(output), `npm test did not pass 2 tests:\n${output}`)
  say("npm test: 2 passed")
}
