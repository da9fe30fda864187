import { NodeHttpClient } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { ResilientServiceClient, UndiciTransport } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

const ChromaLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server"
})

// the lean transport: an undici Agent of its own, destroyed with the layer
const OnUndiciTransport = ChromaLive.pipe(Layer.provide(UndiciTransport.layer()))

// the platform's transport: the same client, the same behaviour, more CPU per request
const OnPlatform = ChromaLive.pipe(Layer.provide(NodeHttpClient.layerUndici))

const heartbeat = Effect.flatMap(Chroma, (chroma) => chroma.get("/api/v1/heartbeat"))

const main = heartbeat.pipe(Effect.provide(OnUndiciTransport))

export { main, OnPlatform }
