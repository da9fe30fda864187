// The top-level `prepare` script: after `npm ci` / `npm install` in a clone, installs the Effect 4
// edition's own dependencies (effect4/ is a separate npm project, with its own lock) exactly as its
// package-lock.json pins them. Skipped where there is nothing to install: inside a tarball (no
// effect4/ folder) and while npm packs or publishes the Effect 3 edition.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const edition = path.join(root, "effect4")
const command = process.env.npm_command

if (command === "pack" || command === "publish") {
  process.exit(0)
}
if (!fs.existsSync(path.join(edition, "package-lock.json"))) {
  process.exit(0)
}

console.log("[prepare] installing the Effect 4 edition's dependencies: npm ci --prefix effect4")
const npm = process.env.npm_execpath
const [file, args] = npm !== undefined && npm.endsWith(".js")
  ? [process.execPath, [npm, "ci", "--prefix", edition]]
  : ["npm", ["ci", "--prefix", edition]]
const result = spawnSync(file, args, { cwd: root, stdio: "inherit" })
if (result.error !== undefined) throw result.error
process.exit(result.status ?? 1)
