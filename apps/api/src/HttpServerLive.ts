import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { FindryApi } from "@findry/domain"
import { Layer } from "effect"
import { ErrorBoundaryLive } from "./ErrorBoundary.js"
import { HealthHttpLive } from "./HealthHttp.js"

export const ApiLive = Layer.provide(HttpApiBuilder.api(FindryApi), [HealthHttpLive, ErrorBoundaryLive])

/** The HTTP API with its docs, waiting for an `HttpServer` and the infrastructure layers. */
export const HttpApiLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)
