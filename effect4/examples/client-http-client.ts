// docs/client.md (kept in sync by test/editionDocs.test.ts)
import { Effect, Schema } from "effect"
import { HttpClient, HttpClientRequest, HttpIncomingMessage } from "effect/http"
import type { ResilientServiceClient } from "../src/index.js"

declare const filesystem: ResilientServiceClient.ResilientServiceClient

const FileInfo = Schema.Struct({ path: Schema.String, size: Schema.Number })

// execute: a request built with HttpClientRequest; its relative URL is resolved against baseUrl
const stat = (path: string) =>
  filesystem.execute(HttpClientRequest.get("/stat", { urlParams: { path } })).pipe(
    Effect.flatMap(HttpIncomingMessage.schemaBodyJson(FileInfo))
  )

// httpClient: the same client as an HttpClient, so effect/http's combinators apply
const withRequestId = (requestId: string) =>
  filesystem.httpClient.pipe(
    HttpClient.mapRequest(HttpClientRequest.setHeader("x-request-id", requestId))
  )

const statTraced = (path: string, requestId: string) =>
  withRequestId(requestId).get("/stat", { urlParams: { path } }).pipe(
    Effect.flatMap(HttpIncomingMessage.schemaBodyJson(FileInfo))
  )

export { stat, statTraced }
