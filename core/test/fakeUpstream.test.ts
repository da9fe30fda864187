import { describe, expect, it } from "vitest"
import * as Fake from "../src/fakeUpstream.js"

describe("the fake upstream's script", () => {
  it("answers per path in order, the last one repeating; \"*\" for any other path; a 404 naming an unscripted path", () => {
    const book = Fake.scriptBook({
      "/a": [Fake.json(503), Fake.json(200, { ok: true })],
      "/b": Fake.hang
    })
    expect([book.next("/a"), book.next("/a"), book.next("/a")].map((a) => a._tag === "Respond" && a.status)).toEqual(
      [503, 200, 200]
    )
    expect(book.next("/b")).toBe(Fake.hang)
    expect(book.next("/c")).toEqual(Fake.json(404, { error: "no script for /c" }))
    book.script({ "*": Fake.text(418, "teapot") })
    expect(book.next("/c")).toEqual(Fake.text(418, "teapot"))
    // a path with its own list keeps it; "*" serves only the others
    expect(book.next("/b")).toBe(Fake.hang)
  })

  it("script replaces the lists it names and starts their counts again; an empty list answers 404", () => {
    const book = Fake.scriptBook({ "/a": [Fake.json(500), Fake.json(501)], "/b": [Fake.json(201), Fake.json(202)] })
    book.next("/a")
    book.next("/b")
    book.script({ "/a": [Fake.json(203), Fake.json(204)] })
    expect(book.next("/a")).toEqual(Fake.json(203))
    expect(book.next("/b")).toEqual(Fake.json(202))
    book.script({ "/a": [] })
    expect(book.next("/a")).toEqual(Fake.json(404, { error: "no script for /a" }))
  })

  it("the plain answers: JSON and text responses with their content type, transport errors by code, bodies that break", () => {
    expect(Fake.json(200, { a: 1 }, { "x-id": "7" })).toEqual({
      _tag: "Respond",
      status: 200,
      body: "{\"a\":1}",
      headers: { "content-type": "application/json", "x-id": "7" }
    })
    expect(Fake.json(204)).toMatchObject({ body: undefined })
    expect(Fake.text(418, "teapot")).toMatchObject({ body: "teapot", headers: { "content-type": "text/plain" } })
    expect([Fake.refused, Fake.reset, Fake.unresolvable].map((a) => a._tag === "Transport" && a.code)).toEqual([
      "ECONNREFUSED",
      "ECONNRESET",
      "ENOTFOUND"
    ])
    expect(Fake.stalledBody(200)).toMatchObject({ _tag: "BrokenBody", status: 200, stalls: true })
    expect(Fake.resetBody(502, { "x-a": "1" })).toEqual({
      _tag: "BrokenBody",
      status: 502,
      headers: { "content-type": "application/json", "x-a": "1" },
      stalls: false
    })
  })
})
