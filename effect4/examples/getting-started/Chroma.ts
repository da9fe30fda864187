// docs/getting-started.md, src/Chroma.ts (kept in sync by test/gettingStarted.test.ts)
import { Config, Context } from "effect"
import { ResilientServiceClient } from "../../src/index.js"

// the service your code asks for: "the Chroma client", whatever builds it
export class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

// built once for the whole app; the base URL comes from the environment, with a default
export const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
  baseUrl: Config.String("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
  serviceName: Config.succeed("Chroma Server"),
  id: Config.succeed("chroma")
})
