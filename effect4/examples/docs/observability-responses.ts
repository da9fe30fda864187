// docs/observability.md, the JSON the endpoint answers, type-checked against the wire types
import type { ServiceStatus, StatusApi } from "../../src/index.js"

// GET /v1/api/status/services → 200
export const listing: Record<string, ServiceStatus.ServiceStatusJson> = {
  "chroma": {
    "service": "Chroma Server",
    "state": "closed",
    "failure_count": 0,
    "last_failure": null,
    "last_state_change": "2025-11-15T10:30:45.000Z"
  },
  "billing": {
    "service": "Billing",
    "state": "open",
    "failure_count": 5,
    "last_failure": "2025-11-15T10:32:12.000Z",
    "last_state_change": "2025-11-15T10:32:12.000Z"
  }
}

// GET /v1/api/status/services/billing → 200
export const one: ServiceStatus.ServiceStatusJson = {
  "service": "Billing",
  "state": "open",
  "failure_count": 5,
  "last_failure": "2025-11-15T10:32:12.000Z",
  "last_state_change": "2025-11-15T10:32:12.000Z"
}

// GET /v1/api/status/services/nope → 404
export const notFound: typeof StatusApi.ServiceNotFound.Encoded = {
  "_tag": "ServiceNotFound",
  "id": "nope",
  "message": "no service is registered under \"nope\""
}
