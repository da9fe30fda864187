import { Context } from "effect"
import { Presets, ResilientServiceClient } from "../src/index.js"

class Chroma extends Context.Tag("app/Chroma")<Chroma, ResilientServiceClient.ResilientServiceClient>() {}
class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}
class Git extends Context.Tag("app/Git")<Git, ResilientServiceClient.ResilientServiceClient>() {}

// slow operations (vector search, file I/O): max_retries=3, timeout=15
const ChromaLive = ResilientServiceClient.layer(Chroma, { baseUrl: "http://chroma:6003", ...Presets.slowOperations })

// fast operations (billing, auth): max_retries=2, timeout=5
const BillingLive = ResilientServiceClient.layer(Billing, { baseUrl: "http://billing:8080", ...Presets.fastOperations })

// complex operations (git): max_retries=3, timeout=30, recovery_timeout=90
const GitLive = ResilientServiceClient.layer(Git, { baseUrl: "http://git:9000", ...Presets.complexOperations })

export { BillingLive, ChromaLive, GitLive }
