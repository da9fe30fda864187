/**
 * The pure part of the scripted fake upstream of `effect-resilience/testing`, shared by both
 * editions: the answers that need no time (a response, a transport error, a hang, a body that
 * breaks off) and the script's bookkeeping (per path, answers in order, the last one repeating).
 * Each edition adds its own timed answer (`delayed`, with its `Duration`) and plays the answers
 * on its own `HttpClient`.
 *
 * @internal
 */

/**
 * An answer that needs no time: each edition's `Testing.Answer` is this or its own `Delay`.
 *
 * @internal
 */
export type PlainAnswer =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly body: string | undefined
    readonly headers: Record<string, string>
  }
  | { readonly _tag: "Transport"; readonly code: string; readonly message: string }
  | { readonly _tag: "Hang" }
  | {
    readonly _tag: "BrokenBody"
    readonly status: number
    readonly headers: Record<string, string>
    /** `true`: the body never ends; `false`: it breaks off with a reset. */
    readonly stalls: boolean
  }

/** @internal */
export const json = (status: number, body?: unknown, headers: Record<string, string> = {}): PlainAnswer => ({
  _tag: "Respond",
  status,
  body: body === undefined ? undefined : JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

/** @internal */
export const text = (status: number, body: string, headers: Record<string, string> = {}): PlainAnswer => ({
  _tag: "Respond",
  status,
  body,
  headers: { "content-type": "text/plain", ...headers }
})

/** @internal */
export const refused: PlainAnswer = { _tag: "Transport", code: "ECONNREFUSED", message: "connect ECONNREFUSED" }

/** @internal */
export const reset: PlainAnswer = { _tag: "Transport", code: "ECONNRESET", message: "socket hang up" }

/** @internal */
export const unresolvable: PlainAnswer = { _tag: "Transport", code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND" }

/** @internal */
export const hang: PlainAnswer = { _tag: "Hang" }

const brokenBody = (status: number, headers: Record<string, string>, stalls: boolean): PlainAnswer => ({
  _tag: "BrokenBody",
  status,
  headers: { "content-type": "application/json", ...headers },
  stalls
})

/** @internal */
export const stalledBody = (status: number, headers: Record<string, string> = {}): PlainAnswer =>
  brokenBody(status, headers, true)

/** @internal */
export const resetBody = (status: number, headers: Record<string, string> = {}): PlainAnswer =>
  brokenBody(status, headers, false)

/**
 * The first piece of a body that then stalls or breaks off: the start of a JSON object.
 *
 * @internal
 */
export const brokenBodyStart = "{\"partial\":"

/**
 * A script: for each path (the URL's pathname, or `"*"` for any other), the answers to give in
 * order.
 *
 * @internal
 */
export type Script<A> = Readonly<Record<string, A | ReadonlyArray<A>>>

/**
 * The script's bookkeeping: `next(path)` gives the answer for one more request to `path` (the
 * path's own list, else `"*"`'s; the last answer of a list repeats; a 404 with a JSON body naming
 * the path where nothing is scripted); `script` replaces the lists of the paths it names and
 * starts their counts again.
 *
 * @internal
 */
export const scriptBook = <A extends object>(initial: Script<A>) => {
  const answers = new Map<string, ReadonlyArray<A>>()
  const served = new Map<string, number>()
  const script = (next: Script<A>): void => {
    for (const [path, answer] of Object.entries(next)) {
      answers.set(path, Array.isArray(answer) ? answer : [answer as A])
      served.set(path, 0)
    }
  }
  script(initial)
  const next = (path: string): A | PlainAnswer => {
    const key = answers.has(path) ? path : "*"
    const list = answers.get(key)
    if (list === undefined || list.length === 0) return json(404, { error: `no script for ${path}` })
    const index = served.get(key) ?? 0
    served.set(key, index + 1)
    return list[Math.min(index, list.length - 1)]!
  }
  return { next, script }
}
