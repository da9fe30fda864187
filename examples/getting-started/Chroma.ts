// docs/getting-started.md, step 2: the client, in a layer
import { Config, Context } from "effect"
import { ResilientServiceClient } from "../../src/index.js"

// the tag your code asks for: "the Chroma client", whatever builds it
export class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

// built once for the whole app; the base URL comes from the environment, with a default
export const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
  baseUrl: Config.string("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
  serviceName: Config.succeed("Chroma Server"),
  id: Config.succeed("chroma")
})
