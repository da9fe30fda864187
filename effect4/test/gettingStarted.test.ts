import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { action, files, read } from "../scripts/gettingStarted.js"

/**
 * docs/getting-started.md is followed word for word by `npm run test:package` (in an empty
 * folder, against the packed tarball, with `effect@latest`). These fast checks keep the page,
 * its type-checked copy in examples/getting-started/ and the package's own ranges in agreement
 * without packing anything.
 */
const edition = path.resolve(import.meta.dirname, "..")
const steps = read()
const pageFiles = files(steps)
const commands = steps.flatMap((step) => step._tag === "Command" ? [step.command] : [])

const asExample = (text: string) =>
  text
    .replaceAll("from \"effect-resilience/testing\"", "from \"../../src/Testing.js\"")
    .replaceAll("from \"effect-resilience\"", "from \"../../src/index.js\"")

describe("docs/getting-started.md (Effect 4 edition)", () => {
  it("writes a package.json, a tsconfig.json and the app's sources, and nothing else", () => {
    expect([...pageFiles.keys()].sort()).toEqual([
      "package.json",
      "src/Chroma.ts",
      "src/main.ts",
      "src/search.test.ts",
      "src/search.ts",
      "src/server.ts",
      "tsconfig.json"
    ])
  })

  it("each source is, byte for byte, its type-checked copy in examples/getting-started/ (below its header line)", () => {
    for (const [file, text] of pageFiles) {
      if (!file.endsWith(".ts")) continue
      const example = fs.readFileSync(path.join(edition, "examples/getting-started", path.basename(file)), "utf8")
      expect(example.startsWith("// docs/getting-started.md"), file).toBe(true)
      expect(example.slice(example.indexOf("\n") + 1), file).toBe(asExample(text))
    }
  })

  it("the project is an ES module package with the scripts the page runs, checked under NodeNext", () => {
    const pkg = JSON.parse(pageFiles.get("package.json")!)
    expect(pkg.type).toBe("module")
    expect(Object.keys(pkg.scripts).sort()).toEqual(["serve", "start", "test", "typecheck"])
    const tsconfig = JSON.parse(pageFiles.get("tsconfig.json")!)
    expect(tsconfig.compilerOptions.moduleResolution).toBe("NodeNext")
  })

  it("starts from an empty folder, and the package check knows every command", () => {
    expect(action(commands[0]!)?._tag).toBe("Enter")
    for (const command of commands) expect(action(command), command).toBeDefined()
    expect(commands).toEqual(expect.arrayContaining(["npm run typecheck", "npm start", "npm test"]))
  })

  it("installs effect@latest and the test tools of the majors this edition is tested with", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(edition, "package.json"), "utf8"))
    const installed = commands.filter((command) => action(command)?._tag === "Install").join(" ").split(" ")
    const range = (name: string) => installed.find((word) => word.startsWith(`${name}@`))?.slice(name.length + 1)
    expect(installed).toContain("effect-resilience")
    expect(range("effect")).toBe("latest")
    expect(pkg.peerDependencies.effect).toMatch(/^\^4\./)
    // the lean transport of step 5: the optional peer, in the major the package declares
    expect(pkg.peerDependencies.undici).toBe(`${range("undici")}.0.0`)
    // vitest and @types/node in the majors this edition's own tests run on
    expect(pkg.devDependencies.vitest).toMatch(new RegExp(`^~${range("vitest")!.slice(1)}\\.`))
    expect(pkg.devDependencies["@types/node"]).toMatch(new RegExp(`^\\^${range("@types/node")!.slice(1)}\\.`))
    expect(range("@effect/vitest")).toBe("latest")
    expect(range("@effect/platform-node")).toBe("latest")
  })

  it("the README gives the same install line for the library", () => {
    const readme = fs.readFileSync(path.join(edition, "README.md"), "utf8")
    expect(readme).toContain("npm i effect-resilience effect@latest")
    expect(commands.some((command) => command.startsWith("npm i effect-resilience effect@latest"))).toBe(true)
  })
})
