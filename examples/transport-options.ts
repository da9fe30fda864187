import { HttpClient } from "@effect/platform"
import { Effect } from "effect"
import { Agent } from "undici"
import { UndiciTransport } from "../src/index.js"

// undici's Agent options, as they are: at most 50 connections per origin, idle ones kept 30 s
const Pooled = UndiciTransport.layer({ connections: 50, keepAliveTimeout: 30_000 })

// a dispatcher you own and close yourself (shared with other code, a MockAgent in tests, ...)
const agent = new Agent({ connections: 10 })
const Shared = UndiciTransport.layerDispatcher(agent)

// any code written against HttpClient runs on either
const fetchText = (url: string) => Effect.flatMap(HttpClient.get(url), (response) => response.text)

const main = fetchText("http://127.0.0.1:8080/").pipe(Effect.provide(Pooled))

export { main, Shared }
