// docs/transports.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { NodeHttpClient } from "@effect/platform-node"
import { Context, Layer } from "effect"
import { ResilientServiceClient, UndiciTransport } from "../../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

const ChromaLive = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  serviceName: "Chroma Server"
})

// the lean transport: an undici Agent of its own, destroyed with the layer
export const OnUndiciTransport = ChromaLive.pipe(Layer.provide(UndiciTransport.layer()))

// Effect 4's own undici client: the same client, the same behaviour
export const OnPlatform = ChromaLive.pipe(Layer.provide(NodeHttpClient.layerUndici))
