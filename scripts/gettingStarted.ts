/**
 * Reads docs/getting-started.md as the list of steps a reader follows: the commands of its `sh`
 * blocks and the files of its labelled code blocks, in order. The package check runs these
 * steps in an empty folder, and test/gettingStarted.test.ts holds examples/getting-started/ to
 * the same files, so the page cannot drift from what works.
 *
 * A file block is a fenced block whose previous non-blank line is only its path in backticks,
 * optionally followed by "(continued)" to append to a file begun earlier:
 *
 *     `src/search.ts` (continued)
 */
import * as fs from "node:fs"
import * as path from "node:path"

export type Step =
  | { readonly _tag: "Command"; readonly command: string }
  | { readonly _tag: "File"; readonly path: string; readonly text: string; readonly continued: boolean }

const label = /^`([\w./-]+)`( \(continued\))?$/
const fence = /^```(\w*)$/

export const docPath = path.resolve(import.meta.dirname, "..", "docs", "getting-started.md")

/** The steps of a getting-started page, in the order a reader meets them. */
export const parse = (markdown: string): ReadonlyArray<Step> => {
  const lines = markdown.split("\n")
  const steps: Array<Step> = []
  let previous = ""
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const open = fence.exec(line)
    if (open === null) {
      if (line.trim() !== "") previous = line.trim()
      continue
    }
    const body: Array<string> = []
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!)
    const named = label.exec(previous)
    previous = ""
    if (open[1] === "sh") {
      for (const raw of body) {
        const command = raw.replace(/\s+#.*$/, "").trim()
        if (command !== "" && !command.startsWith("#")) steps.push({ _tag: "Command", command })
      }
    } else if (named !== null) {
      steps.push({ _tag: "File", path: named[1]!, text: body.join("\n") + "\n", continued: named[2] !== undefined })
    }
  }
  return steps
}

/** The files the steps write, each as it stands once every step has run. */
export const files = (steps: ReadonlyArray<Step>): ReadonlyMap<string, string> => {
  const result = new Map<string, string>()
  for (const step of steps) {
    if (step._tag !== "File") continue
    const before = result.get(step.path)
    if (step.continued && before === undefined) throw new Error(`${step.path} is continued before it is begun`)
    if (!step.continued && before !== undefined) throw new Error(`${step.path} is begun twice`)
    result.set(step.path, before === undefined ? step.text : `${before}\n${step.text}`)
  }
  return result
}

export const read = (): ReadonlyArray<Step> => parse(fs.readFileSync(docPath, "utf8"))

/** What the package check does with each command of the page; `undefined` for one it does not know. */
export type Action =
  | { readonly _tag: "Enter"; readonly directory: string }
  | { readonly _tag: "Install"; readonly args: ReadonlyArray<string> }
  | { readonly _tag: "Script"; readonly script: "typecheck" | "start" | "test" }
  | { readonly _tag: "Serve" }

export const action = (command: string): Action | undefined => {
  const enter = /^mkdir ([\w.-]+) && cd \1$/.exec(command)
  if (enter !== null) return { _tag: "Enter", directory: enter[1]! }
  const words = command.split(/\s+/)
  if (words[0] === "npm" && (words[1] === "i" || words[1] === "install")) {
    return { _tag: "Install", args: words.slice(1) }
  }
  switch (command) {
    case "npm run typecheck":
      return { _tag: "Script", script: "typecheck" }
    case "npm start":
      return { _tag: "Script", script: "start" }
    case "npm test":
      return { _tag: "Script", script: "test" }
    case "npm run serve":
      return { _tag: "Serve" }
  }
  return undefined
}
