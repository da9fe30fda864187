/**
 * The status page's HTML from plain data (times as wall-clock milliseconds, absent values as
 * `undefined`), shared by both editions: each converts its registry snapshot to a
 * {@link PageSnapshot} and renders it here, so both pages are the same byte for byte.
 *
 * @internal
 */
import type { BreakerState } from "./types.js"

/** @internal */
export interface PageOptions {
  /** How often the page reloads itself, in milliseconds (rounded up to whole seconds, at least 1). */
  readonly refreshIntervalMillis?: number | undefined
  readonly fleet?: FleetSection | undefined
}

/**
 * A live replica as the fleet section shows it: its name, how long since its heartbeat, and its
 * breakers' states by service id.
 *
 * @internal
 */
export interface PageReplica {
  readonly replica: string
  readonly ageMillis: number
  readonly services: Readonly<Record<string, { readonly state?: unknown } | undefined>>
}

/**
 * A transition as the page lists it; `at` in wall-clock milliseconds.
 *
 * @internal
 */
export interface PageTransition {
  readonly service: string
  readonly from: BreakerState
  readonly to: BreakerState
  readonly at: number
}

/**
 * One service as the page shows it: times in wall-clock milliseconds, `lastFailure` undefined
 * when it never failed, `nextProbeInMillis` undefined when no probe is due (`Infinity` while
 * isolated).
 *
 * @internal
 */
export interface PageService {
  readonly status: {
    readonly service: string
    readonly state: BreakerState
    readonly failureCount: number
    readonly lastFailure: number | undefined
    readonly lastStateChange: number
  }
  readonly nextProbeInMillis: number | undefined
  readonly recentTransitions: ReadonlyArray<PageTransition>
}

/**
 * Every service at one moment, keyed by id in registration order; `takenAt` in wall-clock
 * milliseconds (what "ago" counts from).
 *
 * @internal
 */
export interface PageSnapshot {
  readonly takenAt: number
  readonly services: Readonly<Record<string, PageService>>
}

/**
 * The fleet part of the page: every live replica and its breakers' states; `replicas` is
 * undefined while Redis does not answer.
 *
 * @internal
 */
export interface FleetSection {
  readonly fleet: string
  readonly replica: string
  readonly replicas: ReadonlyArray<PageReplica> | undefined
}

/** @internal */
export const defaultRefreshIntervalMillis = 5_000

/** How many transitions the page lists, across every service. @internal */
export const transitionsShown = 50

/** The colour of each state: closed green, half_open amber, open red. @internal */
export const stateColours: Readonly<Record<BreakerState, string>> = {
  closed: "#1a7f37",
  half_open: "#9a6700",
  open: "#cf222e"
}

const stateLabels: Readonly<Record<BreakerState, string>> = {
  closed: "closed",
  half_open: "half open",
  open: "open"
}

const escapes: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "'": "&#39;"
}

/**
 * Escapes text for an HTML text node or a double- or single-quoted attribute value.
 *
 * @internal
 */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => escapes[char]!)

/** Whole units, largest first: `850 ms`, `42 s`, `3 min 5 s`, `2 h 10 min`, `4 d 3 h`. */
const formatSpan = (millis: number): string => {
  if (millis < 1_000) return `${Math.max(0, Math.floor(millis))} ms`
  const seconds = Math.floor(millis / 1_000)
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  const days = Math.floor(hours / 24)
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`
}

/** `2025-11-15 10:30:45 UTC`, in a `<time>` element carrying the ISO timestamp. */
const time = (millis: number): string => {
  const iso = new Date(millis).toISOString()
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`)}</time>`
}

const ago = (date: number, now: number): string => {
  const elapsed = now - date
  return elapsed < 1_000 ? "just now" : `${formatSpan(elapsed)} ago`
}

const when = (date: number, now: number): string =>
  `${time(date)} <span class="ago">(${escapeHtml(ago(date, now))})</span>`

const nextProbe = (millis: number): string => {
  if (!Number.isFinite(millis)) return "none until reset (isolated)"
  return millis <= 0 ? "due now" : `in ${formatSpan(millis)}`
}

const badge = (state: BreakerState): string =>
  `<span class="state" data-state="${escapeHtml(state)}">${escapeHtml(stateLabels[state])}</span>`

const field = (name: string, label: string, value: string): string =>
  `<div class="field"><dt>${escapeHtml(label)}</dt><dd data-field="${escapeHtml(name)}">${value}</dd></div>`

const card = (id: string, details: PageService, now: number): string => {
  const status = details.status
  const fields = [
    field("failure-count", "Failures", escapeHtml(String(status.failureCount))),
    field(
      "last-failure",
      "Last failure",
      status.lastFailure === undefined ? "never" : when(status.lastFailure, now)
    ),
    field("last-state-change", "Last state change", when(status.lastStateChange, now))
  ]
  if (status.state === "open" && details.nextProbeInMillis !== undefined) {
    fields.push(field("next-probe", "Next probe", escapeHtml(nextProbe(details.nextProbeInMillis))))
  }
  return `<article class="service" data-service-id="${escapeHtml(id)}" data-state="${escapeHtml(status.state)}">
<header><h2 class="name">${escapeHtml(status.service)}</h2>${badge(status.state)}</header>
<p class="id">id <code>${escapeHtml(id)}</code></p>
<dl>${fields.join("")}</dl>
</article>`
}

interface ListedTransition {
  readonly id: string
  readonly change: PageTransition
  readonly serviceIndex: number
  readonly position: number
}

/**
 * Every service's recent transitions, newest first. Within a service the registry's order is
 * the order of publication, which breaks ties between equal timestamps.
 *
 * @internal
 */
export const newestTransitions = (snapshot: PageSnapshot): ReadonlyArray<ListedTransition> =>
  Object.entries(snapshot.services)
    .flatMap(([id, details], serviceIndex) =>
      details.recentTransitions.map((change, position) => ({ id, change, serviceIndex, position }))
    )
    .sort((a, b) => b.change.at - a.change.at || b.position - a.position || a.serviceIndex - b.serviceIndex)

const transitionItem = ({ change, id }: ListedTransition, now: number): string =>
  `<li data-service-id="${escapeHtml(id)}" data-from="${escapeHtml(change.from)}" data-to="${escapeHtml(change.to)}">${
    when(change.at, now)
  } <span class="service-name">${escapeHtml(change.service)}</span> <code>${escapeHtml(id)}</code> ${
    badge(change.from)
  } <span aria-label="to">→</span> ${badge(change.to)}</li>`

const refreshSeconds = (millis: number): number =>
  Number.isFinite(millis) ? Math.max(1, Math.ceil(millis / 1_000)) : 3_600

const css = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
body{margin:0 auto;max-width:72rem;padding:1.5rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.summary{margin:0 0 1.5rem;color:#59636e}
.services{display:grid;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr));gap:1rem}
.service{background:#fff;border:1px solid #d1d9e0;border-left:.4rem solid #d1d9e0;border-radius:.5rem;padding:1rem}
.service[data-state="closed"]{border-left-color:${stateColours.closed}}
.service[data-state="half_open"]{border-left-color:${stateColours.half_open}}
.service[data-state="open"]{border-left-color:${stateColours.open}}
.service header{display:flex;align-items:center;justify-content:space-between;gap:.5rem}
.service h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
.id{margin:.25rem 0 .75rem;color:#59636e;font-size:.85rem;overflow-wrap:anywhere}
.state{display:inline-block;border-radius:1rem;padding:.1rem .6rem;color:#fff;font-size:.8rem;font-weight:600;white-space:nowrap}
.state[data-state="closed"]{background-color:${stateColours.closed}}
.state[data-state="half_open"]{background-color:${stateColours.half_open}}
.state[data-state="open"]{background-color:${stateColours.open}}
dl{margin:0}
.field{display:flex;justify-content:space-between;gap:1rem;padding:.2rem 0;border-top:1px solid #eff2f5}
dt{color:#59636e}
dd{margin:0;text-align:right;flex-shrink:0}
time{white-space:nowrap}
.ago{color:#59636e;font-size:.85rem;white-space:nowrap}
dd .ago{display:block}
.transitions{margin-top:2rem}
.transitions h2{font-size:1.2rem}
.transitions ol{list-style:none;padding:0;margin:0;background:#fff;border:1px solid #d1d9e0;border-radius:.5rem}
.transitions li{padding:.4rem .75rem;border-top:1px solid #eff2f5}
.transitions li:first-child{border-top:0}
.empty{color:#59636e}
.fleet{margin-top:2rem}
.fleet h2{font-size:1.2rem}
.fleet table{border-collapse:collapse;background:#fff;border:1px solid #d1d9e0;border-radius:.5rem;width:100%}
.fleet th,.fleet td{padding:.4rem .75rem;border-top:1px solid #eff2f5;text-align:left}
`

const isState = (u: unknown): u is BreakerState => u === "closed" || u === "half_open" || u === "open"

const fleetSection = (section: FleetSection): string => {
  const title = `<h2 id="fleet-title">Fleet <code>${escapeHtml(section.fleet)}</code></h2>`
  const open = `<section class="fleet" aria-labelledby="fleet-title" data-fleet="${escapeHtml(section.fleet)}">`
  if (section.replicas === undefined) {
    return `${open}
${title}
<p class="empty">Redis does not answer: the fleet's state is unknown (this replica: <code>${
      escapeHtml(section.replica)
    }</code>).</p>
</section>`
  }
  const services = [...new Set(section.replicas.flatMap((r) => Object.keys(r.services)))].sort()
  const head = `<tr><th>Replica</th><th>Heartbeat</th>${
    services.map((service) => `<th>${escapeHtml(service)}</th>`).join("")
  }</tr>`
  const rows = section.replicas.map((r) => {
    const cells = services.map((service) => {
      const state = r.services[service]?.state
      return `<td data-service="${escapeHtml(service)}">${isState(state) ? badge(state) : "—"}</td>`
    })
    const name = r.replica === section.replica ? `${escapeHtml(r.replica)} (this one)` : escapeHtml(r.replica)
    return `<tr data-replica="${escapeHtml(r.replica)}"><td>${name}</td><td>${
      escapeHtml(`${formatSpan(r.ageMillis)} ago`)
    }</td>${cells.join("")}</tr>`
  })
  return `${open}
${title}
<table>
<thead>${head}</thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</section>`
}

/**
 * The status page: a self-contained HTML document (inline CSS, no script) with a card per
 * service, the recent transitions and, in fleet mode, the fleet's replicas.
 *
 * @internal
 */
export const render = (snapshot: PageSnapshot, options?: PageOptions): string => {
  const now = snapshot.takenAt
  const refresh = refreshSeconds(options?.refreshIntervalMillis ?? defaultRefreshIntervalMillis)
  const services = Object.entries(snapshot.services)
  const counts = { closed: 0, half_open: 0, open: 0 }
  for (const [, details] of services) counts[details.status.state]++
  const transitions = newestTransitions(snapshot).slice(0, transitionsShown)
  const summary = `${services.length} ${
    services.length === 1 ? "service" : "services"
  }: ${counts.open} open, ${counts.half_open} half open, ${counts.closed} closed`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta http-equiv="refresh" content="${escapeHtml(String(refresh))}">
<title>Service status</title>
<style>${css}</style>
</head>
<body>
<header>
<h1>Service status</h1>
<p class="summary">${escapeHtml(summary)} · as of ${time(now)} · refreshes every ${
    escapeHtml(formatSpan(refresh * 1_000))
  }</p>
</header>
<main>
<section class="services" aria-label="Services">
${
    services.length === 0
      ? `<p class="empty">No service is registered.</p>`
      : services.map(([id, details]) => card(id, details, now)).join("\n")
  }
</section>
<section class="transitions" aria-labelledby="transitions-title">
<h2 id="transitions-title">Recent transitions</h2>
${
    transitions.length === 0
      ? `<p class="empty">No transition since the services were registered.</p>`
      : `<ol>\n${transitions.map((item) => transitionItem(item, now)).join("\n")}\n</ol>`
  }
</section>${options?.fleet === undefined ? "" : `\n${fleetSection(options.fleet)}`}
</main>
</body>
</html>
`
}
