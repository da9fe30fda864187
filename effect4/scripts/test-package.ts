/**
 * `npm run test:package` (here, or at the top level after the Effect 3 edition's check): this
 * edition as a user gets it. Packs effect4/ (which builds it, core included, through `prepack`),
 * checks what the tarball holds, then follows docs/getting-started.md in a new folder under the
 * system's temporary directory: every command of the page (the install lines with the tarball
 * in place of the registry's `effect-resilience`, so `effect@latest` comes from the registry),
 * every file of the page. Runs on the Node 22 that npm's scripts put first on the PATH, and
 * checks that the app does too.
 *
 * Needs the npm registry. Leaves nothing behind when it passes; on a failure it keeps the folder
 * and prints its path.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { check, CheckFailed, mustRun, start as startCheck } from "../../scripts/packageCheck.js"
import { action, read, type Step } from "./gettingStarted.js"

const edition = path.resolve(import.meta.dirname, "..")
const { version } = JSON.parse(fs.readFileSync(path.join(edition, "package.json"), "utf8")) as { version: string }
const { main: runCheck, say, work } = startCheck("test:package effect4", "effect-resilience-effect4-package-")

const atLeast = (actual: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = actual.trim().replace(/^v/, "").split(".").map(Number)
  return a > major || (a === major && b >= minor)
}

// ---------------------------------------------------------------------------------------------
// The tarball
// ---------------------------------------------------------------------------------------------

const pack = async (): Promise<{ tarball: string; files: ReadonlySet<string> }> => {
  // without a dist/ left over from an earlier build, the tarball's dist/ proves that packing builds it
  fs.rmSync(path.join(edition, "dist"), { recursive: true, force: true })
  const output = await mustRun("npm", ["pack", "--json", "--pack-destination", work], { cwd: edition })
  // lifecycle scripts print before the JSON
  const [packed] = JSON.parse(output.slice(output.indexOf("[\n"))) as Array<
    { filename: string; files: Array<{ path: string }> }
  >
  check(packed !== undefined, `npm pack printed no result:\n${output}`)
  return { tarball: path.join(work, packed!.filename), files: new Set(packed!.files.map((file) => file.path)) }
}

const checkContents = async (files: ReadonlySet<string>, tarball: string) => {
  for (const required of ["LICENSE", "README.md", "package.json", "dist/effect4/src/index.js"]) {
    check(files.has(required), `the tarball lacks ${required}`)
  }
  for (const file of files) {
    check(!/\.test\.ts$/.test(file), `the tarball ships a test: ${file}`)
    check(
      ["LICENSE", "README.md", "package.json"].includes(file) || /^(dist|docs)\//.test(file),
      `the tarball ships ${file}, outside dist/ and docs/`
    )
    if (file.endsWith(".js")) check(files.has(file.replace(/\.js$/, ".d.ts")), `${file} has no declarations`)
  }
  const unpacked = path.join(work, "unpacked")
  fs.mkdirSync(unpacked)
  await mustRun("tar", ["-xzf", tarball, "-C", unpacked], { cwd: work })
  const base = path.join(unpacked, "package")
  // the pure core is compiled into dist/core/: every relative import of the shipped code lands in the tarball
  let imports = 0
  for (const file of files) {
    if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue
    const text = fs.readFileSync(path.join(base, file), "utf8")
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier!))
      check(files.has(target), `${file} imports ${specifier}, which is not in the tarball`)
      imports++
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
  say(`tarball: ${files.size} files; ${imports} relative imports and ${links} doc links resolve inside it`)
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

const start = async (app: string) => {
  const output = await mustRun("npm", ["start"], { cwd: app })
  const expected = `effect-resilience ${version} on Effect 4`
  check(output.includes(expected), `npm start did not log "${expected}":\n${output}`)
  say(`npm start: logged "${expected}"`)
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
      throw new CheckFailed(`effect4/docs/getting-started.md runs \`${step.command}\`, which this check does not know`)
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
        await mustRun("npm", todo.args.map((arg) => arg === "effect-resilience" ? tarball : arg), { cwd })
        break
      }
      case "Script": {
        if (todo.script === "typecheck") await typecheckBoth(cwd)
        else if (todo.script === "start") await start(cwd)
        else await mustRun("npm", ["test"], { cwd })
        break
      }
      case "Serve": {
        say("  (not run: it listens on every interface; this check listens only on 127.0.0.1:0)")
        break
      }
    }
  }
  check(app !== undefined, "effect4/docs/getting-started.md never makes its project folder")
  return app!
}

// ---------------------------------------------------------------------------------------------
// The app as installed
// ---------------------------------------------------------------------------------------------

const checkRuntime = async (app: string) => {
  const node = await mustRun("node", ["-p", "process.version"], { cwd: app })
  check(atLeast(node, 22, 19), `the app runs on Node ${node.trim()}, not 22.19 or later`)
  const effect = await mustRun("node", ["-p", "require('effect/package.json').version"], { cwd: app })
  check(/^4\./.test(effect.trim()), `the app installed effect ${effect.trim()}, not 4.x`)
  say(`the app runs on Node ${node.trim()} with effect ${effect.trim()} (effect@latest)`)
}

const importEntryPoints = async (app: string) => {
  const script = [
    "const main = await import('effect-resilience')",
    `if (main.version !== ${
      JSON.stringify(version)
    }) throw new Error('effect-resilience exports version ' + main.version)`,
    "const hidden = await import('effect-resilience/internal/x.js').then(() => 'importable', (e) => e.code)",
    "if (hidden !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw new Error('internal/ is ' + hidden)",
    "console.log('entry points ok')"
  ].join("\n")
  const output = await mustRun("node", ["--input-type=module", "-e", script], { cwd: app })
  check(output.includes("entry points ok"), output)
  say("node imports effect-resilience; effect-resilience/internal/* stays hidden")
}

runCheck(async () => {
  say(`working in ${work}`)
  const { files, tarball } = await pack()
  say(`packed ${path.basename(tarball)}`)
  await checkContents(files, tarball)
  const app = await follow(read(), tarball)
  await checkRuntime(app)
  await importEntryPoints(app)
})
