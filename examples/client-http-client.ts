import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import type { ResilientServiceClient } from "../src/index.js"

declare const filesystem: ResilientServiceClient.ResilientServiceClient

const FileInfo = Schema.Struct({ path: Schema.String, size: Schema.Number })

// execute: a request built with HttpClientRequest; its relative URL is resolved against baseUrl
const stat = (path: string) =>
  filesystem.execute(HttpClientRequest.get("/stat", { urlParams: { path } })).pipe(
    Effect.flatMap(HttpClientResponse.schemaBodyJson(FileInfo))
  )

// httpClient: the same client as an HttpClient, so the platform's combinators apply
const withRequestId = (requestId: string) =>
  filesystem.httpClient.pipe(
    HttpClient.mapRequest(HttpClientRequest.setHeader("x-request-id", requestId))
  )

const statTraced = (path: string, requestId: string) =>
  withRequestId(requestId).get("/stat", { urlParams: { path } }).pipe(
    Effect.flatMap(HttpClientResponse.schemaBodyJson(FileInfo))
  )

export { stat, statTraced }
