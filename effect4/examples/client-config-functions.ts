// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Config, Context } from "effect"
import { ResilientServiceClient, RetryPolicy } from "../src/index.js"

class Git extends Context.Service<Git, ResilientServiceClient.ResilientServiceClient>()("app/Git") {}

// the git service answers 423 Locked while another operation holds the repository: try again
const retryOn = (error: ResilientServiceClient.ClientError) =>
  RetryPolicy.isTransient(error) || (error._tag === "HttpClientError" && error.response?.status === 423)

const GitLive = ResilientServiceClient.layerConfig(Git, {
  baseUrl: Config.String("GIT_SERVICE_URL"),
  serviceName: Config.succeed("Git"),
  timeout: Config.succeed("30 seconds"),
  retry: { retryOn: Config.succeed(retryOn) }
})

export { GitLive }
