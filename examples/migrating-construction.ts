import { Config, Context } from "effect"
import { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
  baseUrl: Config.string("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
  serviceName: Config.succeed("Chroma Server")
})

export { ChromaLive }
