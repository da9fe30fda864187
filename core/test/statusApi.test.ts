import { describe, expect, it } from "vitest"
import * as StatusApi from "../src/statusApi.js"

describe("what the status endpoint says", () => {
  it("the 404 for a raw slash gives the id's encoded path", () => {
    expect(StatusApi.rawSlashMessage("billing/v2")).toBe(
      "no service is registered under \"billing/v2\" written with a raw \"/\": an id is asked for encoded, as /v1/api/status/services/billing%2Fv2"
    )
    expect(StatusApi.rawSlashMessage("100%/x#y")).toContain(`${StatusApi.path}/100%25%2Fx%23y`)
  })

  it("the other messages name the id as asked", () => {
    expect(StatusApi.notFoundMessage("nope")).toBe("no service is registered under \"nope\"")
    expect(StatusApi.duplicateIdMessage("chroma")).toBe(
      "\"chroma\" is already registered by another live client or breaker"
    )
    expect([StatusApi.path, StatusApi.pagePath, StatusApi.recentTransitionsLimit]).toEqual([
      "/v1/api/status/services",
      "/v1/api/status",
      20
    ])
  })
})
