/**
 * The status page: its HTML is rendered by the core shared by both editions
 * (`core/src/statusPage.ts`) from plain data; this module converts a registry snapshot (dates,
 * `Option`s, `Duration`s) to that data, so that both editions serve the same page byte for byte.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Core from "../../../core/src/statusPage.js"
import type * as ServiceRegistry from "../ServiceRegistry.js"

export { escapeHtml, stateColours, transitionsShown } from "../../../core/src/statusPage.js"

/** @internal */
export interface PageOptions {
  readonly refreshInterval?: Duration.Input | undefined
  readonly fleet?: Core.FleetSection | undefined
}

/** @internal */
export const defaultRefreshInterval: Duration.Input = "5 seconds"

const pageService = (details: ServiceRegistry.ServiceDetails): Core.PageService => ({
  status: {
    service: details.status.service,
    state: details.status.state,
    failureCount: details.status.failureCount,
    lastFailure: Option.match(details.status.lastFailure, {
      onNone: () => undefined,
      onSome: (date) => date.getTime()
    }),
    lastStateChange: details.status.lastStateChange.getTime()
  },
  nextProbeInMillis: Option.match(details.nextProbeIn, { onNone: () => undefined, onSome: Duration.toMillis }),
  recentTransitions: details.recentTransitions.map((change) => ({
    service: change.service,
    from: change.from,
    to: change.to,
    at: change.at.getTime()
  }))
})

/**
 * A registry snapshot as the core's page data: dates as wall-clock milliseconds, `None` as
 * `undefined`.
 *
 * @internal
 */
export const pageSnapshot = (snapshot: ServiceRegistry.Snapshot): Core.PageSnapshot => {
  const services: Record<string, Core.PageService> = {}
  for (const [id, details] of Object.entries(snapshot.services)) services[id] = pageService(details)
  return { takenAt: snapshot.takenAt.getTime(), services }
}

/** @internal */
export const render = (snapshot: ServiceRegistry.Snapshot, options?: PageOptions): string =>
  Core.render(pageSnapshot(snapshot), {
    refreshIntervalMillis: Duration.toMillis(options?.refreshInterval ?? defaultRefreshInterval),
    fleet: options?.fleet
  })
