import { HttpApi, HttpApiBuilder } from "@effect/platform"
import { Layer } from "effect"
import { StatusApi } from "../src/index.js"

// in an HttpApi app: the status endpoints join the app's own groups and its OpenAPI document
const BackendApi = HttpApi.make("backend").add(StatusApi.group)

const ApiLive = HttpApiBuilder.api(BackendApi).pipe(Layer.provide(StatusApi.handlers(BackendApi)))

export { ApiLive }
