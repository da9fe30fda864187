import { NodeSdk } from "@effect/opentelemetry"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer } from "effect"
import { ResilientServiceClient, ServiceRegistry } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

const ChromaLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server"
}).pipe(Layer.provide([NodeHttpClient.layerUndici, ServiceRegistry.layer]))

// Effect's metrics and spans, exported through the OpenTelemetry SDK
const TelemetryLive = NodeSdk.layer(() => ({
  resource: { serviceName: "backend", serviceVersion: "1.0.0" },
  // Prometheus scrapes http://<host>:9464/metrics
  metricReader: new PrometheusExporter({ port: 9464 }),
  // spans go to an OTLP/HTTP collector (Jaeger, Tempo, the OpenTelemetry Collector, …)
  spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: "http://otel-collector:4318/v1/traces" }))
}))

const program = Effect.gen(function*() {
  const chroma = yield* Chroma
  const response = yield* chroma.get("/api/v1/heartbeat")
  yield* Effect.log(`heartbeat: ${response.status}`)
}).pipe(
  // the call span `effect-resilience.call` becomes a child of this one
  Effect.withSpan("heartbeat")
)

program.pipe(
  Effect.provide(ChromaLive),
  Effect.provide(TelemetryLive),
  NodeRuntime.runMain
)
