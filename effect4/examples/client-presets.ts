// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Config, Context } from "effect"
import { Presets, ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}
class Git extends Context.Service<Git, ResilientServiceClient.ResilientServiceClient>()("app/Git") {}
class Chroma extends Context.Service<Chroma, ResilientServiceClient.ResilientServiceClient>()("app/Chroma") {}

const BillingLive = ResilientServiceClient.layer(Billing, {
  baseUrl: "http://billing:8080",
  serviceName: "Billing",
  ...Presets.fastOperations
})

// a preset first, your own settings after it: later keys win
const GitLive = ResilientServiceClient.layer(Git, {
  baseUrl: "http://git:9000",
  serviceName: "Git",
  ...Presets.complexOperations,
  failureThreshold: 3
})

// with layerConfig, spread the preset inside Config.map
const ChromaLive = ResilientServiceClient.layerConfig(
  Chroma,
  Config.String("CHROMA_SERVER_URL").pipe(
    Config.withDefault("http://chroma:6003"),
    Config.map((baseUrl) => ({ baseUrl, serviceName: "Chroma Server", ...Presets.slowOperations }))
  )
)

export { BillingLive, ChromaLive, GitLive }
