import { Config, Context } from "effect"
import { Presets, ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}

// development: a fixed URL, 3 attempts of 10 s
const ChromaDevelopment = ResilientServiceClient.layer(Chroma, {
  baseUrl: "http://chroma:6003",
  ...Presets.development
})

// production: the URL from CHROMA_SERVER_URL (required: the layer fails with a ConfigError without it),
// 3 attempts of 10 s, open after 5 failures, probe after 60 s
const ChromaProduction = ResilientServiceClient.layerConfig(
  Chroma,
  Config.string("CHROMA_SERVER_URL").pipe(Config.map((baseUrl) => ({ baseUrl, ...Presets.production })))
)

export { ChromaDevelopment, ChromaProduction }
