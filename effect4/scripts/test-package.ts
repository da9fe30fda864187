/**
 * `npm run test:package` (here, or at the top level after the Effect 3 edition's check): this
 * edition as a user gets it. Packs effect4/ (which builds it, core included, through `prepack`),
 * checks what the tarball holds, then follows docs/getting-started.md in a new folder under the
 * system's temporary directory: every command of the page (the install lines with the tarball
 * in place of the registry's `effect-resilience`, so `effect@latest` comes from the registry),
 * every file of the page. On top of what the page asks, it runs `npm start` against a loopback
 * Chroma (healthy, then refusing connections), type-checks the app under `moduleResolution`
 * NodeNext and Bundler (and the package's declarations with `skipLibCheck` off), and imports
 * its entry points from plain Node. Runs on the Node 22 that npm's scripts put first on the
 * PATH, and checks that the app does too.
 *
 * Needs the npm registry. Leaves nothing behind when it passes; on a failure it keeps the folder
 * and prints its path.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import {
  check,
  checkDeclarations,
  checkDocLinks,
  follow,
  mustRun,
  pack,
  start as startCheck,
  startAgainstChroma,
  testPasses,
  typecheckBoth,
  unpack
} from "../../scripts/packageCheck.js"
import { read } from "./gettingStarted.js"

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

const checkContents = async (files: ReadonlySet<string>, tarball: string) => {
  for (const required of ["LICENSE", "README.md", "CHANGELOG.md", "package.json", "dist/effect4/src/index.js"]) {
    check(files.has(required), `the tarball lacks ${required}`)
  }
  for (const file of files) {
    check(!/\.test\.ts$/.test(file), `the tarball ships a test: ${file}`)
    check(
      ["LICENSE", "README.md", "CHANGELOG.md", "package.json"].includes(file) || /^(dist|docs)\//.test(file),
      `the tarball ships ${file}, outside dist/ and docs/`
    )
    if (file.endsWith(".js")) check(files.has(file.replace(/\.js$/, ".d.ts")), `${file} has no declarations`)
  }
  const base = await unpack(tarball, work)
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
  const links = checkDocLinks(files, base)
  say(`tarball: ${files.size} files; ${imports} relative imports and ${links} doc links resolve inside it`)
}

// ---------------------------------------------------------------------------------------------
// The page, step by step
// ---------------------------------------------------------------------------------------------

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
    "const testing = await import('effect-resilience/testing')",
    `const expected = ${JSON.stringify(version)}`,
    "if (main.version !== expected) throw new Error('effect-resilience exports version ' + main.version)",
    "if (typeof main.ResilientServiceClient.make !== 'function') throw new Error('no ResilientServiceClient.make')",
    "if (typeof testing.fakeUpstream !== 'function') throw new Error('no fakeUpstream in effect-resilience/testing')",
    "const hidden = await import('effect-resilience/internal/x.js').then(() => 'importable', (e) => e.code)",
    "if (hidden !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw new Error('internal/ is ' + hidden)",
    "console.log('entry points ok')"
  ].join("\n")
  const output = await mustRun("node", ["--input-type=module", "-e", script], { cwd: app })
  check(output.includes("entry points ok"), output)
  say("node imports effect-resilience and effect-resilience/testing; effect-resilience/internal/* stays hidden")
}

runCheck(async () => {
  say(`working in ${work}`)
  const { files, tarball } = await pack(edition, work)
  say(`packed ${path.basename(tarball)}`)
  await checkContents(files, tarball)
  const app = await follow({
    name: "effect4/docs/getting-started.md",
    steps: read(),
    work,
    tarball,
    say,
    scripts: {
      typecheck: typecheckBoth,
      start: (app) => startAgainstChroma(app, say),
      test: (app) => testPasses(app, say)
    }
  })
  // once every file of the page is written, the whole app once more under both resolutions
  await typecheckBoth(app)
  say("the finished app type-checks under moduleResolution NodeNext and Bundler")
  await checkDeclarations(app, say)
  await checkRuntime(app)
  await importEntryPoints(app)
})
