// Bundles a TypeScript benchmark with esbuild and runs it with plain `node`, so that what is
// measured is the library's code and not a TypeScript loader's hooks.
//   node bench/run.mjs bench/breaker.ts [args...]
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { mkdirSync } from "node:fs"
import { basename, join } from "node:path"

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  console.error("usage: node bench/run.mjs <bench/file.ts> [args...]")
  process.exit(2)
}
const outdir = join("bench", ".build")
mkdirSync(outdir, { recursive: true })
const outfile = join(outdir, basename(entry).replace(/\.ts$/, ".mjs"))
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: false,
  logLevel: "warning"
})
const result = spawnSync(process.execPath, ["--expose-gc", outfile, ...args], { stdio: "inherit" })
process.exit(result.status ?? 1)
