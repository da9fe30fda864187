/**
 * The breaker's wire forms, byte for byte, as both editions must read and write them: the status
 * snapshot the status endpoint serves, the rejection an `HttpApi` endpoint answers with, and the
 * snapshot a breaker stores. Each edition's tests decode every fixture and encode it back to the
 * same text (`test/BreakerScenarios.test.ts`, `effect4/test/BreakerScenarios.test.ts`), so a status
 * or a stored snapshot written by one edition is read by the other.
 */

/** A status snapshot: its wire JSON text, and the fields it decodes to (dates in milliseconds). */
export interface StatusFixture {
  readonly name: string
  readonly json: string
  readonly fields: {
    readonly service: string
    readonly state: "closed" | "open" | "half_open"
    readonly failureCount: number
    readonly lastFailure: number | null
    readonly lastStateChange: number
  }
}

/** Status snapshots of every state, with and without a failure. */
export const statuses: ReadonlyArray<StatusFixture> = [
  {
    name: "closed, no failure yet",
    json:
      "{\"service\":\"Chroma Server\",\"state\":\"closed\",\"failure_count\":0,\"last_failure\":null,\"last_state_change\":\"2025-11-15T10:30:45.000Z\"}",
    fields: {
      service: "Chroma Server",
      state: "closed",
      failureCount: 0,
      lastFailure: null,
      lastStateChange: Date.UTC(2025, 10, 15, 10, 30, 45)
    }
  },
  {
    name: "open after 5 failures",
    json:
      "{\"service\":\"Chroma Server\",\"state\":\"open\",\"failure_count\":5,\"last_failure\":\"2025-11-15T10:32:12.000Z\",\"last_state_change\":\"2025-11-15T10:32:12.000Z\"}",
    fields: {
      service: "Chroma Server",
      state: "open",
      failureCount: 5,
      lastFailure: Date.UTC(2025, 10, 15, 10, 32, 12),
      lastStateChange: Date.UTC(2025, 10, 15, 10, 32, 12)
    }
  },
  {
    name: "half_open, milliseconds kept",
    json:
      "{\"service\":\"billing\",\"state\":\"half_open\",\"failure_count\":3,\"last_failure\":\"1970-01-01T00:00:02.001Z\",\"last_state_change\":\"1970-01-01T00:01:02.999Z\"}",
    fields: {
      service: "billing",
      state: "half_open",
      failureCount: 3,
      lastFailure: 2_001,
      lastStateChange: 62_999
    }
  }
]

/** Wire values that are not a status (each must fail to decode). */
export const invalidStatuses: ReadonlyArray<{ readonly name: string; readonly json: string }> = [
  {
    name: "negative failure_count",
    json:
      "{\"service\":\"s\",\"state\":\"closed\",\"failure_count\":-1,\"last_failure\":null,\"last_state_change\":\"2025-11-15T10:30:45.000Z\"}"
  },
  {
    name: "unknown state",
    json:
      "{\"service\":\"s\",\"state\":\"broken\",\"failure_count\":0,\"last_failure\":null,\"last_state_change\":\"2025-11-15T10:30:45.000Z\"}"
  },
  {
    name: "camelCase keys",
    json:
      "{\"service\":\"s\",\"state\":\"closed\",\"failureCount\":0,\"lastFailure\":null,\"lastStateChange\":\"2025-11-15T10:30:45.000Z\"}"
  },
  {
    name: "last_failure missing",
    json:
      "{\"service\":\"s\",\"state\":\"closed\",\"failure_count\":0,\"last_state_change\":\"2025-11-15T10:30:45.000Z\"}"
  }
]

/**
 * A rejection as an `HttpApi` endpoint answers it: its JSON text and what it decodes to. The
 * editions write the same keys and values in a different order (`_tag` last in the Effect 3
 * edition, first in the Effect 4 one), so tests compare this JSON parsed.
 */
export interface RejectionFixture {
  readonly name: string
  readonly json: string
  readonly fields: {
    readonly service: string
    readonly state: "open" | "half_open"
    /** `null`: an isolated breaker's infinite wait. */
    readonly retryAfterMillis: number | null
  }
}

/** Rejections: open with a wait, half_open with a probe in flight, isolated. */
export const rejections: ReadonlyArray<RejectionFixture> = [
  {
    name: "open, next probe in 30 s",
    json: "{\"_tag\":\"ServiceUnavailable\",\"service\":\"Chroma Server\",\"state\":\"open\",\"retryAfter\":30000}",
    fields: { service: "Chroma Server", state: "open", retryAfterMillis: 30_000 }
  },
  {
    name: "half_open, a probe in flight",
    json: "{\"_tag\":\"ServiceUnavailable\",\"service\":\"auth\",\"state\":\"half_open\",\"retryAfter\":0}",
    fields: { service: "auth", state: "half_open", retryAfterMillis: 0 }
  },
  {
    name: "isolated: no probe until reset",
    json: "{\"_tag\":\"ServiceUnavailable\",\"service\":\"git\",\"state\":\"open\",\"retryAfter\":null}",
    fields: { service: "git", state: "open", retryAfterMillis: null }
  }
]

/**
 * Snapshots a breaker stores (version 1): each edition's breaker made with a store holding one
 * of them must resume in `state`, and a breaker that makes the same transitions must store the
 * same text.
 */
export interface StoredFixture {
  readonly name: string
  readonly service: string
  readonly json: string
  readonly state: "closed" | "open" | "half_open"
  readonly isolated: boolean
}

/** Stored snapshots, as the Effect 3 edition writes them. */
export const stored: ReadonlyArray<StoredFixture> = [
  {
    name: "open, opened at 0 for 60 s",
    service: "billing",
    json:
      "{\"version\":1,\"service\":\"billing\",\"state\":\"open\",\"failureCount\":1,\"lastFailure\":\"1970-01-01T00:00:00.000Z\",\"lastStateChange\":\"1970-01-01T00:00:00.000Z\",\"openUntil\":\"1970-01-01T00:01:00.000Z\",\"isolated\":false,\"opens\":1}",
    state: "open",
    isolated: false
  },
  {
    name: "isolated",
    service: "git",
    json:
      "{\"version\":1,\"service\":\"git\",\"state\":\"open\",\"failureCount\":0,\"lastFailure\":null,\"lastStateChange\":\"1970-01-01T00:00:00.000Z\",\"openUntil\":null,\"isolated\":true,\"opens\":0}",
    state: "open",
    isolated: true
  }
]
