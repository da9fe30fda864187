// docs/fleet.md, the cluster example (kept in sync by test/editionDocs.test.ts)
import { Fleet } from "../../src/index.js"

// any node of the cluster; the others are discovered, and commands follow their slots
export const FleetLive = Fleet.layerRedis({
  fleet: "checkout",
  url: "rediss://fleet:secret@redis-0.internal:6379",
  cluster: { rootNodes: ["rediss://redis-1.internal:6379", "rediss://redis-2.internal:6379"] }
})
