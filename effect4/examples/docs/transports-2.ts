// docs/transports.md, example 2 (kept in sync by test/editionDocs.test.ts)
import { Agent } from "undici"
import { UndiciTransport } from "../../src/index.js"

// undici's Agent options, as they are: at most 50 connections per origin, idle ones kept 30 s
export const Pooled = UndiciTransport.layer({ connections: 50, keepAliveTimeout: 30_000 })

// a dispatcher you own and close yourself (shared with other code, a MockAgent in tests, ...)
const agent = new Agent({ connections: 10 })
export const Shared = UndiciTransport.layerDispatcher(agent)
