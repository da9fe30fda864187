/**
 * `npm run test:package`: the package as a user gets it. Packs the library (which builds it,
 * through `prepack`), checks what the tarball holds, then follows docs/getting-started.md in a
 * new folder under the system's temporary directory: every command of the page (the install
 * lines with the tarball in place of the registry's `effect-resilience`), every file of the page.
 * On top of what the page asks, it type-checks the app under `moduleResolution` NodeNext and
 * Bundler, runs `npm start` against a loopback upstream (healthy, then refusing connections),
 * and imports the package's entry points from plain Node.
 *
 * Needs the npm registry (the app installs Effect 3 and the test tools). Leaves nothing behind
 * when it passes; on a failure it keeps the folder and prints its path.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { action, read, type Step } from "./gettingStarted.js"

const root = path.resolve(import.meta.dirname, "..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resilience-package-"))
const started = performance.now()

const say = (line: string) =>
  console.log(`[test:package ${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`)

class CheckFailed extends Error {}
const check = (condition: unknown, message: string): void => {
  if (!condition) throw new CheckFailed(message)
}

const env = {
  ...process.env,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_prefer_offline: "true",
  NO_COLOR: "1"
}

interface Ran {
  readonly code: number | null
  readonly output: string
}

/** Runs a command to its end, with stdout and stderr collected together (printed if it fails). */
const run = (command: string, args: ReadonlyArray<string>, options: { cwd: string; extraEnv?: object }) =>
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

const mustRun = async (command: string, args: ReadonlyArray<string>, options: { cwd: string; extraEnv?: object }) => {
  const ran = await run(command, args, options)
  check(ran.code === 0, `\`${[command, ...args].join(" ")}\` exited with ${ran.code}:\n${ran.output}`)
  return ran.output
}

// ---------------------------------------------------------------------------------------------
// The tarball
// ---------------------------------------------------------------------------------------------

const pack = async (): Promise<{ tarball: string; files: ReadonlySet<string> }> => {
  // without a dist/ left over from an earlier build, the tarball's dist/ proves that packing builds it
  fs.rmSync(path.join(root, "dist"), { recursive: true, force: true })
  const output = await mustRun("npm", ["pack", "--json", "--pack-destination", work], { cwd: root })
  // lifecycle scripts print before the JSON on some npm versions
  const [packed] = JSON.parse(output.slice(output.indexOf("[\n"))) as Array<
    { filename: string; files: Array<{ path: string }> }
  >
  check(packed !== undefined, `npm pack printed no result:\n${output}`)
  return { tarball: path.join(work, packed!.filename), files: new Set(packed!.files.map((file) => file.path)) }
}

const checkContents = async (files: ReadonlySet<string>, tarball: string) => {
  for (
    const required of [
      "LICENSE",
      "README.md",
      "package.json",
      "dist/src/index.js",
      "dist/src/Testing.js",
      "dist/core/src/machine.js"
    ]
  ) {
    check(files.has(required), `the tarball lacks ${required}`)
  }
  for (const file of files) {
    check(!/\.test\.ts$/.test(file), `the tarball ships a test: ${file}`)
    // declaration maps: go-to-definition lands in the shipped src/
    if (file.endsWith(".d.ts")) {
      check(files.has(`${file}.map`), `${file} has no declaration map`)
    }
  }
  const unpacked = path.join(work, "unpacked")
  fs.mkdirSync(unpacked)
  await mustRun("tar", ["-xzf", tarball, "-C", unpacked], { cwd: work })
  const base = path.join(unpacked, "package")
  for (const file of files) {
    if (!file.endsWith(".d.ts.map")) continue
    const map = JSON.parse(fs.readFileSync(path.join(base, file), "utf8")) as { sources: Array<string> }
    for (const source of map.sources) {
      const target = path.relative(base, path.resolve(path.dirname(path.join(base, file)), source))
      check(files.has(target), `${file} points to ${target}, which is not in the tarball`)
    }
  }
  // every relative link of the shipped README and docs reaches a shipped file
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
  say(`tarball: ${files.size} files; every declaration has its map into src/; ${links} doc links resolve inside it`)
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
// The page, step by step
// ---------------------------------------------------------------------------------------------

const typecheckBoth = async (app: string) => {
  await mustRun("npm", ["run", "typecheck"], { cwd: app })
  // the same sources under Bundler resolution
  fs.writeFileSync(
    path.join(app, "tsconfig.bundler.json"),
    JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { module: "Preserve", moduleResolution: "Bundler" } })
  )
  await mustRun("npx", ["tsc", "-p", "tsconfig.bundler.json"], { cwd: app })
}

/**
 * The package's own declarations, checked rather than skipped (`skipLibCheck: false`), under
 * both resolutions, from a folder beside the app's sources. (The app itself keeps the page's
 * `skipLibCheck`, since `@effect/platform-node`'s declarations need `@types/ws`.)
 */
const checkDeclarations = async (app: string) => {
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

const start = async (app: string) => {
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

const test = async (app: string) => {
  const output = await mustRun("npm", ["test"], { cwd: app })
  check(/Tests\s+2 passed/.test(output), `npm test did not pass 2 tests:\n${output}`)
  say("npm test: 2 passed")
}

const importEntryPoints = async (app: string) => {
  const script = [
    "const main = await import('effect-resilience')",
    "const testing = await import('effect-resilience/testing')",
    "if (typeof main.ResilientServiceClient.make !== 'function') throw new Error('no ResilientServiceClient.make')",
    "if (typeof testing.fakeUpstream !== 'function') throw new Error('no fakeUpstream in effect-resilience/testing')",
    "const hidden = await import('effect-resilience/internal/client.js').then(() => 'importable', (e) => e.code)",
    "if (hidden !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw new Error('internal/ is ' + hidden)",
    "console.log('entry points ok')"
  ].join("\n")
  const output = await mustRun("node", ["--input-type=module", "-e", script], { cwd: app })
  check(output.includes("entry points ok"), output)
  say("node imports effect-resilience and effect-resilience/testing; effect-resilience/internal/* stays hidden")
}

const follow = async (steps: ReadonlyArray<Step>, tarball: string) => {
  let cwd = work
  let app: string | undefined
  for (const step of steps) {
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
      throw new CheckFailed(`docs/getting-started.md runs \`${step.command}\`, which this check does not know`)
    }
    say(`$ ${step.command}`)
    switch (todo._tag) {
      case "Enter": {
        cwd = path.join(cwd, todo.directory)
        fs.mkdirSync(cwd) // fails if it exists: the page starts from an empty folder
        app = cwd
        break
      }
      case "Install": {
        // exactly the page's line, with the packed tarball standing in for the registry's copy
        check(todo.args.includes("effect-resilience") || !step.command.includes("effect-resilience"), step.command)
        await mustRun("npm", todo.args.map((arg) => arg === "effect-resilience" ? tarball : arg), { cwd })
        break
      }
      case "Script": {
        if (todo.script === "typecheck") await typecheckBoth(cwd)
        else if (todo.script === "start") await start(cwd)
        else await test(cwd)
        break
      }
      case "Serve": {
        say("  (not run: it listens on port 3000 of every interface; this check listens only on 127.0.0.1:0)")
        break
      }
    }
  }
  check(app !== undefined, "docs/getting-started.md never makes its project folder")
  return app!
}

const main = async () => {
  say(`working in ${work}`)
  const { files, tarball } = await pack()
  say(`packed ${path.basename(tarball)}`)
  await checkContents(files, tarball)
  const app = await follow(read(), tarball)
  // once every file of the page is written, the whole app once more under both resolutions
  await typecheckBoth(app)
  say("the finished app type-checks under moduleResolution NodeNext and Bundler")
  await checkDeclarations(app)
  await importEntryPoints(app)
  fs.rmSync(work, { recursive: true, force: true })
  say("passed")
}

main().catch((error: unknown) => {
  console.error(error instanceof CheckFailed ? `[test:package] FAILED: ${error.message}` : error)
  console.error(`[test:package] the folder is kept for inspection: ${work}`)
  process.exit(1)
})
