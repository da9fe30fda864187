import { Context } from "effect"
import { ResilientServiceClient } from "../src/index.js"

class Service extends Context.Tag("app/Service")<Service, ResilientServiceClient.ResilientServiceClient>() {}

const ServiceLive = ResilientServiceClient.layer(Service, {
  baseUrl: "http://service:8080", // service address
  serviceName: "Service", // for logging, the status and errors
  maxAttempts: 3, // attempts, the first included (max_retries=3)
  timeout: "10 seconds", // limit on one attempt; a bare number means milliseconds
  failureThreshold: 5, // failures in a row that open the circuit
  recoveryTimeout: "60 seconds" // how long the circuit stays open before a trial call
})

export { ServiceLive }
