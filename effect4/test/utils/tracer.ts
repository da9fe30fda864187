/**
 * A recording `Tracer`: every span it starts, with its attributes and how it ended.
 */
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export interface RecordedSpan extends Tracer.Span {
  status: Tracer.SpanStatus
  readonly attributes: Map<string, unknown>
}

/** A tracer that keeps every span it starts, in start order. */
export const makeRecordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  let ids = 0
  const tracer = Tracer.make({
    span: ({ annotations, kind, links, name, parent, sampled, startTime }) => {
      const id = ++ids
      // hex ids, as W3C trace context wants them: a propagated `traceparent` is valid
      const spanId = id.toString(16).padStart(16, "0")
      const traceId = Option.match(parent, {
        onNone: () => id.toString(16).padStart(32, "a"),
        onSome: (p) => p.traceId
      })
      const span: RecordedSpan = {
        _tag: "Span",
        name,
        spanId,
        traceId,
        parent,
        annotations,
        status: { _tag: "Started", startTime },
        attributes: new Map(),
        links: [...links],
        sampled,
        kind,
        end(endTime, exit) {
          span.status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute(key, value) {
          span.attributes.set(key, value)
        },
        event() {},
        addLinks() {}
      }
      spans.push(span)
      return span
    }
  })
  const named = (name: string) => spans.filter((span) => span.name === name)
  const childrenOf = (parent: Tracer.AnySpan) =>
    spans.filter((span) => Option.isSome(span.parent) && span.parent.value.spanId === parent.spanId)
  return { spans, tracer, named, childrenOf }
}
