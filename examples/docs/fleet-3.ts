// docs/fleet.md, example 3 (kept in sync by test/docs.test.ts)
import { HttpRouter } from "@effect/platform"
import { Fleet, StatusApi } from "../../src/index.js"

// GET /v1/api/status/services (this replica) and GET /v1/api/status/fleet (every replica)
const app = StatusApi.router.pipe(HttpRouter.concat(Fleet.router))
