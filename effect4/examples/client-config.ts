// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Config, Context } from "effect"
import { ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

const ChromaLive = ResilientServiceClient.layerConfig(Chroma, {
  // os.getenv("CHROMA_SERVER_URL", "http://chroma:6003")
  baseUrl: Config.String("CHROMA_SERVER_URL").pipe(Config.withDefault("http://chroma:6003")),
  serviceName: Config.succeed("Chroma Server"),
  maxAttempts: Config.Int("CHROMA_MAX_ATTEMPTS").pipe(Config.withDefault(3)),
  // read as a duration: CHROMA_TIMEOUT="15 seconds"
  timeout: Config.Duration("CHROMA_TIMEOUT").pipe(Config.withDefault("10 seconds"))
})

export { ChromaLive }
