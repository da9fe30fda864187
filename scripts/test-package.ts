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
 * when it passes; on a failure it keeps the folder and prints its path. `npm run test:package`
 * then checks the Effect 4 edition's tarball the same way (effect4/scripts/test-package.ts).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { read } from "./gettingStarted.js"
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
} from "./packageCheck.js"

const root = path.resolve(import.meta.dirname, "..")
const { main: runCheck, say, work } = startCheck("test:package", "effect-resilience-package-")

// ---------------------------------------------------------------------------------------------
// The tarball
// ---------------------------------------------------------------------------------------------

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
    check(!file.startsWith("effect4/"), `the Effect 3 edition's tarball ships the Effect 4 edition's ${file}`)
    // declaration maps: go-to-definition lands in the shipped src/
    if (file.endsWith(".d.ts")) {
      check(files.has(`${file}.map`), `${file} has no declaration map`)
    }
  }
  const base = await unpack(tarball, work)
  for (const file of files) {
    if (!file.endsWith(".d.ts.map")) continue
    const map = JSON.parse(fs.readFileSync(path.join(base, file), "utf8")) as { sources: Array<string> }
    for (const source of map.sources) {
      const target = path.relative(base, path.resolve(path.dirname(path.join(base, file)), source))
      check(files.has(target), `${file} points to ${target}, which is not in the tarball`)
    }
  }
  const links = checkDocLinks(files, base)
  say(`tarball: ${files.size} files; every declaration has its map into src/; ${links} doc links resolve inside it`)
}

// ---------------------------------------------------------------------------------------------
// The page, step by step
// ---------------------------------------------------------------------------------------------

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

runCheck(async () => {
  say(`working in ${work}`)
  const { files, tarball } = await pack(root, work)
  say(`packed ${path.basename(tarball)}`)
  await checkContents(files, tarball)
  const app = await follow({
    name: "docs/getting-started.md",
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
  await importEntryPoints(app)
})
