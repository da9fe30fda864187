/**
 * How the resilient client stops an attempt that runs in the caller's fiber: an attempt signal
 * its transport heeds, from the request until the body is read. Only `UndiciTransport` offers
 * it; on any other transport an attempt runs in a fiber of its own, which the client interrupts.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"

/**
 * The smallest thing undici accepts as a `signal` (an emitter of one `abort` event). Measured:
 * an `AbortController` with one listener added and removed costs about 5 µs of CPU per request,
 * this a few nanoseconds. The fault suite aims at it (interrupting a request must close its
 * connection).
 *
 * @internal
 */
export class AbortHook {
  private listener: (() => void) | undefined = undefined
  aborted = false
  on(_event: "abort", listener: () => void) {
    this.listener = listener
    return this
  }
  once(event: "abort", listener: () => void) {
    return this.on(event, listener)
  }
  removeListener(_event: "abort", _listener: () => void) {
    this.listener = undefined
    return this
  }
  abort() {
    if (this.aborted) return
    this.aborted = true
    const listener = this.listener
    this.listener = undefined
    if (listener !== undefined) listener()
  }
}

/**
 * The stop signal of one attempt of the resilient client on an `UndiciTransport`, where the
 * attempt runs in the caller's fiber instead of a fiber of its own (the fork and its await cost
 * 25–35 µs of CPU per attempt without sockets, 30–100 µs on loopback: the Effect 3 edition's docs/performance.md). Aborting it, from the client's deadline timer or when the client
 * closes, ends the attempt whatever the caller's interruptibility: while the request waits for
 * its headers, the request fails at once with an `HttpClientError` whose reason is a `TransportError` (also when a custom
 * dispatcher never calls back); once they came, the transport aborts the request, so a read of
 * the body fails with a `DecodeError` reason. The client reports either as the attempt's
 * timeout. The transport has no interruption handler of its own in this mode: the client
 * aborts the signal when the attempt is interrupted.
 *
 * @internal
 */
export class AttemptSignal extends AbortHook {
  /** The request it stops (set by the transport when it sends one): told once, when aborted. */
  request: SignalledRequest | undefined = undefined

  override abort() {
    if (this.aborted) return
    super.abort()
    const request = this.request
    this.request = undefined
    if (request !== undefined) request.attemptStopped()
  }
}

/**
 * A request an {@link AttemptSignal} stops: `attemptStopped` ends it (and its body), and fails
 * its wait for the headers at once, even when the dispatcher never calls back.
 *
 * @internal
 */
export interface SignalledRequest {
  attemptStopped(): void
}

/**
 * What runs one request on an `UndiciTransport` with an attempt's {@link AttemptSignal}:
 * the same request, span and response as `execute`.
 *
 * @internal
 */
export type ExecuteWithSignal = (
  request: HttpClientRequest.HttpClientRequest,
  signal: AttemptSignal
) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>

const ExecuteWithSignalKey = Symbol.for("effect-resilience/UndiciTransport/executeWithSignal")

/**
 * The attempt-signal form of `client`'s `execute` when `client` is an `UndiciTransport`
 * itself (not one derived from it with `HttpClient.mapRequest` and the like, whose steps might
 * not heed the signal), else `undefined`.
 *
 * @internal
 */
export const executeWithSignal = (client: HttpClient.HttpClient): ExecuteWithSignal | undefined =>
  (client as { readonly [ExecuteWithSignalKey]?: ExecuteWithSignal })[ExecuteWithSignalKey]

/**
 * `client` answering {@link executeWithSignal} with `execute` (a transport's constructor
 * marks the client it returns).
 *
 * @internal
 */
export const withExecuteWithSignal = (
  client: HttpClient.HttpClient,
  execute: ExecuteWithSignal
): HttpClient.HttpClient => Object.assign(client, { [ExecuteWithSignalKey]: execute })

const WholeBodyKey = Symbol.for("effect-resilience/UndiciTransport/wholeBody")

/**
 * The method of a response of `UndiciTransport` that gives its body when it has arrived whole
 * (the usual case for a small body: it comes with the headers), without a copy.
 *
 * @internal
 */
export const wholeBodyKey: typeof WholeBodyKey = WholeBodyKey

/**
 * The body of `response`, a response of `UndiciTransport`, when it has already arrived whole,
 * without copying it or parsing the headers; `undefined` for any other response, or for a body
 * still arriving (or broken off).
 *
 * @internal
 */
export const wholeBody = (response: HttpClientResponse.HttpClientResponse): Uint8Array | undefined =>
  (response as { readonly [WholeBodyKey]?: () => Uint8Array | undefined })[WholeBodyKey]?.()
