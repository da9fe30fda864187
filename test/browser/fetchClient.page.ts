/**
 * The page side of fetchClient.browser.test.ts, bundled for the browser by the test: the
 * resilient client on the platform's `FetchHttpClient`, against the server that served the page.
 * `runChecks(origin)` makes the calls and resolves with what each call saw.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as Effect from "effect/Effect"
import * as ResilientServiceClient from "../../src/ResilientServiceClient.js"

const checks = (origin: string) =>
  Effect.gen(function*() {
    // credentials in the base URL become a Basic authorization header (base64 without Node's Buffer)
    const withUser = origin.replace("://", "://alice:p%C3%A4ss@")
    const client = yield* ResilientServiceClient.make({ baseUrl: withUser, backoff: "1 millis", timeout: "5 seconds" })
    const chunked = yield* Effect.flatMap(client.get("/chunked"), (response) => response.text)
    const flaky = yield* Effect.flatMap(client.get("/flaky"), (response) => response.json)
    const upload = yield* Effect.flatMap(
      client.put("/upload", { body: HttpBody.text("uploaded from the page") }),
      (response) => response.json
    )
    return { chunked, flaky, upload }
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

Object.assign(globalThis, {
  runChecks: (origin: string) =>
    Effect.runPromise(
      Effect.catchAllCause(checks(origin), (cause) => Effect.succeed({ failed: String(cause) }))
    )
})
