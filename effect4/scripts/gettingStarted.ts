/**
 * The steps of this edition's docs/getting-started.md, read the way the Effect 3 edition reads
 * its own page (../../scripts/gettingStarted.ts: the commands of `sh` blocks and the files of
 * labelled code blocks, in order), so that the package check follows this page to the letter.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { parse, type Step } from "../../scripts/gettingStarted.js"

export { action, files, type Step } from "../../scripts/gettingStarted.js"

export const docPath = path.resolve(import.meta.dirname, "..", "docs", "getting-started.md")

/** The steps of effect4/docs/getting-started.md, in the order a reader meets them. */
export const read = (): ReadonlyArray<Step> => parse(fs.readFileSync(docPath, "utf8"))
