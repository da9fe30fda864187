import { Config, Context } from "effect"
import { Presets, ResilientServiceClient } from "../src/index.js"

class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}
class Git extends Context.Tag("app/Git")<Git, ResilientServiceClient.ResilientServiceClient>() {}
class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

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
  Config.string("CHROMA_SERVER_URL").pipe(
    Config.withDefault("http://chroma:6003"),
    Config.map((baseUrl) => ({ baseUrl, serviceName: "Chroma Server", ...Presets.slowOperations }))
  )
)

export { BillingLive, ChromaLive, GitLive }
