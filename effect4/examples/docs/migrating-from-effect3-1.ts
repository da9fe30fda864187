// docs/migrating-from-effect3.md, example 1 (kept in sync by test/editionDocs.test.ts)
import { Config, Context } from "effect"
import { ResilientServiceClient } from "../../src/index.js"

// Effect 3 edition:
//   class Billing extends Context.Tag("app/Billing")<Billing, ResilientServiceClient.ResilientServiceClient>() {}
//   baseUrl: Config.string("BILLING_URL")
export class Billing extends Context.Service<Billing, ResilientServiceClient.ResilientServiceClient>()("app/Billing") {}

export const BillingLive = ResilientServiceClient.layerConfig(Billing, {
  baseUrl: Config.String("BILLING_URL").pipe(Config.withDefault("http://billing:8080")),
  serviceName: Config.succeed("Billing"),
  maxAttempts: Config.succeed(2),
  timeout: Config.succeed("5 seconds")
})
