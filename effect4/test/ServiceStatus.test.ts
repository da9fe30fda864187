import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { ServiceStatus } from "../src/index.js"

/** The wire JSON of DESIGN.md, exactly (key order included). */
const wire = {
  service: "Chroma Server",
  state: "closed",
  failure_count: 0,
  last_failure: "2025-11-15T10:32:12.000Z",
  last_state_change: "2025-11-15T10:30:45.000Z"
}

// In Effect 4 the wire JSON is the schema `ServiceStatusJson` (a `Schema.Class` cannot rename its keys).
const decode = Schema.decodeUnknownSync(ServiceStatus.ServiceStatusJson)
const encode = Schema.encodeSync(ServiceStatus.ServiceStatusJson)
const decodeResult = Schema.decodeUnknownResult(ServiceStatus.ServiceStatusJson)

describe("ServiceStatus", () => {
  it("decodes the wire JSON into camelCase fields with dates", () => {
    const status = decode(wire)
    expect(status).toBeInstanceOf(ServiceStatus.ServiceStatus)
    expect(status.service).toBe("Chroma Server")
    expect(status.state).toBe("closed")
    expect(status.failureCount).toBe(0)
    expect(Option.map(status.lastFailure, (date) => date.toISOString())).toEqual(
      Option.some("2025-11-15T10:32:12.000Z")
    )
    expect(status.lastStateChange).toBeInstanceOf(Date)
    expect(status.lastStateChange.getTime()).toBe(Date.UTC(2025, 10, 15, 10, 30, 45))
  })

  it("decoding then encoding the wire JSON round-trips byte for byte", () => {
    const encoded = encode(decode(wire))
    expect(JSON.stringify(encoded)).toBe(JSON.stringify(wire))
    expect(ServiceStatus.toJson(decode(wire))).toEqual(wire)
  })

  it("a text with the contract's exact bytes round-trips through JSON.parse / JSON.stringify", () => {
    const text =
      "{\"service\":\"Chroma Server\",\"state\":\"open\",\"failure_count\":5,\"last_failure\":\"2025-11-15T10:32:12.000Z\",\"last_state_change\":\"2025-11-15T10:32:12.000Z\"}"
    expect(JSON.stringify(encode(decode(JSON.parse(text))))).toBe(text)
  })

  it("last_failure: null decodes to Option.none and encodes back to null", () => {
    const noFailure = { ...wire, last_failure: null }
    const status = decode(noFailure)
    expect(Option.isNone(status.lastFailure)).toBe(true)
    const encoded = encode(status)
    expect(encoded.last_failure).toBeNull()
    expect(JSON.stringify(encoded)).toBe(JSON.stringify(noFailure))
  })

  it("round-trips every state", () => {
    for (const state of ["closed", "open", "half_open"] as const) {
      const json = { ...wire, state, failure_count: 7 }
      expect(JSON.stringify(encode(decode(json)))).toBe(JSON.stringify(json))
    }
  })

  it("fromMillis builds the same status as decoding the wire JSON", () => {
    const built = ServiceStatus.fromMillis({
      service: "Chroma Server",
      state: "closed",
      failureCount: 0,
      lastFailure: Date.UTC(2025, 10, 15, 10, 32, 12),
      lastStateChange: Date.UTC(2025, 10, 15, 10, 30, 45)
    })
    expect(JSON.stringify(ServiceStatus.toJson(built))).toBe(JSON.stringify(wire))
    const none = ServiceStatus.fromMillis({
      service: "svc",
      state: "open",
      failureCount: 5,
      lastFailure: undefined,
      lastStateChange: 0
    })
    expect(ServiceStatus.toJson(none)).toEqual({
      service: "svc",
      state: "open",
      failure_count: 5,
      last_failure: null,
      last_state_change: "1970-01-01T00:00:00.000Z"
    })
  })

  describe("JSON.stringify gives the wire JSON", () => {
    it("snake_case keys, ISO strings, in the contract's key order", () => {
      expect(JSON.stringify(decode(wire))).toBe(JSON.stringify(wire))
    })

    it("null for no failure, not an Option envelope", () => {
      const status = ServiceStatus.fromMillis({
        service: "Chroma Server",
        state: "open",
        failureCount: 2,
        lastFailure: undefined,
        lastStateChange: Date.UTC(2025, 10, 15, 10, 30, 45)
      })
      const text = JSON.stringify(status)
      expect(JSON.parse(text)).toEqual({
        service: "Chroma Server",
        state: "open",
        failure_count: 2,
        last_failure: null,
        last_state_change: "2025-11-15T10:30:45.000Z"
      })
      expect(text).not.toContain("failureCount")
      expect(text).not.toContain("_tag")
    })

    it("inside a larger value (a record of statuses, as a JSON response or a log holds it)", () => {
      const text = JSON.stringify({ chroma: decode(wire) })
      expect(JSON.parse(text)).toEqual({ chroma: wire })
      // and what JSON.stringify gave decodes back to an equal status
      expect(decode(JSON.parse(text).chroma)).toEqual(decode(wire))
    })
  })

  it("fromJson decodes the wire JSON to the class", () => {
    expect(ServiceStatus.fromJson(wire)).toEqual(decode(wire))
    expect(ServiceStatus.fromJson(wire)).toBeInstanceOf(ServiceStatus.ServiceStatus)
  })

  it("the class's own schema keeps camelCase fields (the Effect 4 difference)", () => {
    const encoded = Schema.encodeSync(ServiceStatus.ServiceStatus)(decode(wire))
    expect(Object.keys(encoded)).toEqual(["service", "state", "failureCount", "lastFailure", "lastStateChange"])
  })

  describe("invalid wire JSON fails to decode with a SchemaError", () => {
    const invalid: ReadonlyArray<{ readonly name: string; readonly json: unknown }> = [
      { name: "negative failure_count", json: { ...wire, failure_count: -1 } },
      { name: "fractional failure_count", json: { ...wire, failure_count: 1.5 } },
      { name: "failure_count as a string", json: { ...wire, failure_count: "0" } },
      { name: "unknown state", json: { ...wire, state: "broken" } },
      { name: "upper-case state", json: { ...wire, state: "OPEN" } },
      { name: "bad last_state_change", json: { ...wire, last_state_change: "not a date" } },
      { name: "bad last_failure", json: { ...wire, last_failure: "yesterday" } },
      {
        name: "last_failure absent (it is null, not missing, before the first failure)",
        json: {
          service: wire.service,
          state: wire.state,
          failure_count: wire.failure_count,
          last_state_change: wire.last_state_change
        }
      },
      {
        name: "camelCase keys instead of the wire's snake_case",
        json: {
          service: "Chroma Server",
          state: "closed",
          failureCount: 0,
          lastFailure: null,
          lastStateChange: "2025-11-15T10:30:45.000Z"
        }
      },
      { name: "not an object", json: "closed" }
    ]

    it.each(invalid)("$name", ({ json }) => {
      const result = decodeResult(json)
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isFailure(result)) expect(Schema.isSchemaError(result.failure)).toBe(true)
    })

    it.effect("in the error channel of Schema.decodeUnknown", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Schema.decodeUnknownEffect(ServiceStatus.ServiceStatusJson)({ ...wire, failure_count: -1 })
        )
        expect(error._tag).toBe("SchemaError")
        expect(error.message).toContain("failure_count")
      }))
  })
})
